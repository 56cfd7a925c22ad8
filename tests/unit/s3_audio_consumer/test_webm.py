"""WebM parsing on real MediaRecorder captures."""

from __future__ import annotations

import pytest

from local.kit.captures import capture
from s3_audio_consumer import webm


def chunks() -> list[bytes]:
    return capture("en-welcome").chunks


def test_init_segment_is_everything_before_the_first_cluster():
    first = chunks()[0]
    init = webm.parse_init(first)
    assert first.startswith(init.data)
    assert first[len(init.data) : len(init.data) + 4] == bytes.fromhex("1F43B675")
    assert b"OpusHead" in init.data


def test_clusters_account_for_every_opus_sample():
    data = b"".join(chunks())
    init = webm.parse_init(data)
    clusters = webm.scan_clusters(data, len(init.data))
    assert all(c.complete for c in clusters[:-1])
    assert not clusters[-1].complete  # the stream's last Cluster has no successor
    # Consecutive clusters tile the stream: each ends where the next begins.
    assert [c.end for c in clusters[:-1]] == [c.offset for c in clusters[1:]]
    assert all(c.samples % 960 == 0 and c.samples > 0 for c in clusters)


def test_chunk_boundaries_split_elements():
    # The reason we cut at parsed Cluster starts: the second chunk does not begin with one.
    assert not chunks()[1].startswith(bytes.fromhex("1F43B675"))


def test_chunk_zero_without_magic_is_rejected():
    with pytest.raises(webm.WebmError):
        webm.parse_init(chunks()[1])


def test_truncated_init_is_an_error():
    with pytest.raises(webm.WebmError):
        webm.parse_init(chunks()[0][:60])


@pytest.mark.parametrize(
    ("toc", "samples"),
    [
        (bytes([0xFC]), 960),  # CELT 20 ms, one frame
        (bytes([0xFC | 1]), 1920),  # two frames
        (bytes([0x18 | 0]), 2880),  # SILK 60 ms
        (bytes([0xFF, 0x03]), 2880),  # code 3: three 20 ms frames
    ],
)
def test_opus_packet_duration_from_toc(toc, samples):
    assert webm.opus_packet_samples(toc + b"\x00" * 10) == samples


def test_resync_finds_the_next_cluster_header():
    data = b"".join(chunks())
    init = webm.parse_init(data)
    second = webm.scan_clusters(data, len(init.data))[1].offset
    assert webm.find_cluster_start(data, len(init.data) + 1) == second
