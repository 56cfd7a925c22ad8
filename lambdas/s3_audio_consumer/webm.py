"""Just enough of WebM (EBML) to cut a MediaRecorder stream at Cluster starts.

Chromium's MediaRecorder writes one init segment (EBML header, Segment, Info, Tracks)
and then one unknown-size Cluster per timeslice, but its chunk boundaries split
elements anywhere. Cutting raw chunk bytes therefore breaks blocks; cutting at
Cluster starts found by parsing the joined stream does not."""

from __future__ import annotations

from dataclasses import dataclass

EBML_MAGIC = bytes.fromhex("1A45DFA3")
SEGMENT = 0x18538067
CLUSTER = 0x1F43B675
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
CODEC_PRIVATE = 0x63A2
TIMECODE = 0xE7
SIMPLE_BLOCK = 0xA3
BLOCK_GROUP = 0xA0
BLOCK = 0xA1
# Elements that may follow a Cluster at Segment level and so end an unknown-size Cluster.
SEGMENT_CHILDREN = {CLUSTER, 0x1C53BB6B, 0x1254C367, 0x1549A966, TRACKS, 0x114D9B74, 0x1941A469, 0x1043A770}
UNKNOWN_SIZE_CLUSTER = bytes.fromhex("1F43B67501FFFFFFFFFFFFFF")
OPUS_RATE = 48000


class WebmError(ValueError):
    """The bytes are not the WebM/Opus stream MediaRecorder writes."""


class Incomplete(Exception):
    """The element runs past the end of the available bytes."""


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int]:
    if pos >= len(data):
        raise Incomplete
    first = data[pos]
    width = 1
    mask = 0x80
    while width <= 8 and not first & mask:
        width += 1
        mask >>= 1
    if width > 8:
        raise WebmError(f"invalid EBML variable-length integer at {pos}")
    if pos + width > len(data):
        raise Incomplete
    value = first if keep_marker else first & (mask - 1)
    for byte in data[pos + 1 : pos + width]:
        value = (value << 8) | byte
    return value, width


UNKNOWN = -1


def element_header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(element id, size or UNKNOWN, header length) of the element at pos."""
    element_id, id_width = _vint(data, pos, keep_marker=True)
    size, size_width = _vint(data, pos + id_width, keep_marker=False)
    if size == (1 << (7 * size_width)) - 1:
        size = UNKNOWN
    return element_id, size, id_width + size_width


@dataclass(frozen=True)
class InitSegment:
    data: bytes  # EBML header + Segment header + Info + Tracks: everything before the first Cluster
    pre_skip: int  # Opus pre-skip in 48 kHz samples, dropped by decoders at stream start


def parse_init(chunk0: bytes) -> InitSegment:
    if not chunk0.startswith(EBML_MAGIC):
        raise WebmError("chunk 0 does not start with the EBML magic")
    try:
        _, size, header = element_header(chunk0, 0)
        pos = header + size
        segment_id, _, header = element_header(chunk0, pos)
        if segment_id != SEGMENT:
            raise WebmError("no Segment after the EBML header")
        pos += header
        pre_skip = 0
        while True:
            element_id, size, header = element_header(chunk0, pos)
            if element_id == CLUSTER:
                return InitSegment(data=chunk0[:pos], pre_skip=pre_skip)
            if size == UNKNOWN:
                raise WebmError(f"unexpected unknown-size element {element_id:x} before the first Cluster")
            if element_id == TRACKS:
                pre_skip = _opus_pre_skip(chunk0[pos + header : pos + header + size])
            pos += header + size
    except Incomplete as error:
        raise WebmError("chunk 0 ends before the first Cluster") from error


def _opus_pre_skip(tracks: bytes) -> int:
    marker = tracks.find(b"OpusHead")
    if marker < 0 or marker + 12 > len(tracks):
        raise WebmError("no OpusHead in Tracks: only audio/webm;codecs=opus is supported")
    return int.from_bytes(tracks[marker + 10 : marker + 12], "little")


_SILK_HYBRID_MS = (10, 20, 40, 60)
_CELT_MS = (2.5, 5, 10, 20)


def opus_packet_samples(packet: bytes) -> int:
    """Samples at 48 kHz that one Opus packet decodes to (RFC 6716, section 3.1)."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame_ms: float = _SILK_HYBRID_MS[config % 4]
    elif config < 16:
        frame_ms = (10, 20)[config % 2]
    else:
        frame_ms = _CELT_MS[config % 4]
    code = toc & 3
    frames = 1 if code == 0 else 2 if code in (1, 2) else (packet[1] & 0x3F if len(packet) > 1 else 0)
    return int(frames * frame_ms * OPUS_RATE / 1000)


@dataclass(frozen=True)
class Cluster:
    offset: int  # of the Cluster ID in the scanned buffer
    end: int  # offset of the next Segment-level element, or of the last complete child
    samples: int  # 48 kHz samples of its complete blocks
    complete: bool  # the next Cluster (or end of stream) was seen
    # Its Timecode in ms from the recording's start (MediaRecorder's TimecodeScale is
    # 1 ms): where it sits on the talk's timeline, also after chunks were lost before it.
    timecode_ms: int | None = None


def _block_samples(data: bytes, start: int, end: int) -> int:
    track_width = _vint(data, start, keep_marker=False)[1]
    return opus_packet_samples(data[start + track_width + 3 : end])


def scan_clusters(data: bytes, start: int) -> list[Cluster]:
    """The Clusters of data from start (which must be a Cluster start) onwards.

    The last one is incomplete unless another Segment-level element follows it."""
    clusters: list[Cluster] = []
    pos = start
    while pos < len(data):
        try:
            element_id, size, header = element_header(data, pos)
        except Incomplete:
            break
        if element_id != CLUSTER:
            raise WebmError(f"expected a Cluster at {pos}, found {element_id:x}")
        cluster_start = pos
        pos += header
        samples = 0
        timecode: int | None = None
        limit = len(data) if size == UNKNOWN else min(len(data), pos + size)
        complete = False
        while pos < limit:
            try:
                child_id, child_size, child_header = element_header(data, pos)
            except Incomplete:
                break
            if child_id in SEGMENT_CHILDREN:
                complete = True
                break
            if child_size == UNKNOWN or pos + child_header + child_size > len(data):
                break
            body = pos + child_header
            if child_id == TIMECODE:
                timecode = int.from_bytes(data[body : body + child_size], "big")
            elif child_id == SIMPLE_BLOCK:
                samples += _block_samples(data, body, body + child_size)
            elif child_id == BLOCK_GROUP:
                inner = body
                while inner < body + child_size:
                    inner_id, inner_size, inner_header = element_header(data, inner)
                    if inner_id == BLOCK:
                        samples += _block_samples(
                            data, inner + inner_header, inner + inner_header + inner_size
                        )
                    inner += inner_header + inner_size
            pos = body + child_size
        if size != UNKNOWN and pos >= cluster_start + header + size:
            complete = True
        clusters.append(
            Cluster(offset=cluster_start, end=pos, samples=samples, complete=complete, timecode_ms=timecode)
        )
        if not complete:
            break
    return clusters


def find_cluster_start(data: bytes, start: int = 0) -> int:
    """Offset of the next unknown-size Cluster header at or after start, or -1:
    resynchronizes the stream after a lost chunk."""
    return data.find(UNKNOWN_SIZE_CLUSTER, start)
