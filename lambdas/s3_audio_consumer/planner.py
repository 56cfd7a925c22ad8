"""The segment planner: which bytes of which stored chunks make the next segment.

Pure: no S3, no DynamoDB, no clock, no logging. Given the ingest cursor, what the
chunk store says exists (a Listing, read at `now`) and, once asked for, the chunks'
bytes, it answers with the next claim (a Plan), a wait for a missing chunk, or
nothing to do yet. The segmenter (`segmenter.py`) does the I/O around it.

A cursor says where the next segment's audio starts (a Cluster start, as chunk seq +
byte offset) and which Cluster precedes it (the pre-roll that Opus needs to decode
its first frames). Every Cluster is in exactly one segment, whatever the order the
chunks arrived in.

A missing chunk is waited for `gap_wait_seconds` from the first sign that it is
missing (a later chunk, or the talk's end naming it), then skipped: the next segment
resynchronizes at the first Cluster after it and jumps the timeline by the audio
that never arrived (from the Cluster's timecode). Chunk 0 holds the init segment
without which nothing decodes, and later chunks can overtake it, so it is never
skipped: it is waited for as long as the talk goes on and `init_wait_seconds` after
the talk's end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from s3_audio_consumer import webm

AFTER_INIT = -1  # the first Cluster of chunk 0
RESYNC = -2  # the first Cluster header found in chunk cut_seq (after a lost chunk)


@dataclass(frozen=True)
class Cursor:
    version: int = 0
    batch_index: int = 0
    cut_seq: int = 0
    cut_offset: int = -1  # AFTER_INIT or RESYNC, or a byte offset in chunk cut_seq
    preroll_seq: int = -1  # -1: no pre-roll (first segment, or after a lost chunk)
    preroll_offset: int = 0
    preroll_samples: int = 0
    emitted_samples: int = 0  # 48 kHz samples handed on so far: startMs of the next segment
    init: bytes = b""
    gaps: int = 0
    done: bool = False

    @property
    def first_needed_seq(self) -> int:
        return self.preroll_seq if self.preroll_seq >= 0 else self.cut_seq


@dataclass(frozen=True)
class SessionState:
    source_language: str
    cursor: Cursor


@dataclass(frozen=True)
class Listing:
    chunks: dict[int, float]  # seq -> when the store first saw it (epoch seconds)
    final_seq: int | None = None  # the talk's last chunk, once it is over
    final_marked_at: float | None = None  # when the store learnt the talk was over


@dataclass(frozen=True)
class Batch:
    """A run of decoded audio on the talk's timeline: what the worker streams to the
    recognizer. It stays inside the worker; the processor receives utterances."""

    session_id: str
    index: int
    start_ms: int
    duration_ms: int
    first_seq: int
    last_seq: int
    pcm: bytes
    source_language: str
    missed_ms: int = 0  # audio lost just before this segment (chunks that never arrived)


@dataclass(frozen=True)
class Plan:
    """The next claim: the cursor to write and the segment it hands on, if any (a claim
    that skips a gap or ends the session may only move the cursor). `event` names what
    the claim means beyond a segment, for the segmenter's log and counters."""

    cursor: Cursor
    webm: bytes = b""  # init segment + the segment's Clusters, its pre-roll Cluster first
    drop_samples: int = 0  # 48 kHz samples of pre-roll that the decoder drops
    batch: Batch | None = None  # pcm still empty: filled in by the decode
    event: str = ""  # "" | flushed | gap_skipped | no_audio | init_missing | init_invalid | resync
    missing_seq: int = -1  # the chunk skipped, for gap_skipped


@dataclass(frozen=True)
class WaitUntil:
    """Nothing to claim before `at` (epoch seconds) unless a chunk arrives: the wait
    for a missing chunk runs out then."""

    at: float
    reason: str


@dataclass(frozen=True)
class Read:
    """The chunks whose bytes the plan needs (the run from the cursor on)."""

    seqs: list[int]


@dataclass(frozen=True)
class PlanSettings:
    target_ms: int = 3000
    gap_wait_seconds: float = 2.0
    max_chunks_per_read: int = 60
    estimated_chunk_ms: int = 300  # MediaRecorder timeslice 250 ms yields ~300 ms Opus clusters
    init_wait_seconds: float = 30.0  # chunk 0 is waited for this long after the talk's end


@dataclass(frozen=True)
class Survey:
    """What the listing says about the chunks from the cursor's first needed one on."""

    listing: Listing
    now: float
    run: list[int]  # consecutive seqs present from the first needed one (read limit applies)
    missing: int  # the first seq after the run
    later: list[int]  # seqs present beyond `missing`
    final: bool  # the run reaches the talk's last chunk
    gap_ends_at: float | None  # when the wait for `missing` runs out, if it is waited for

    @property
    def gap_ready(self) -> bool:
        return self.gap_ends_at is not None and self.now >= self.gap_ends_at


@dataclass(frozen=True)
class _Joined:
    """The run's chunks joined, with the offset of each chunk in the join."""

    run: list[int]
    buf: bytes
    starts: dict[int, int]

    def position(self, offset: int) -> tuple[int, int]:
        """(chunk seq, offset in that chunk) of an offset in the join."""
        owner = max(s for s in self.run if self.starts[s] <= offset)
        return owner, offset - self.starts[owner]


Step = Plan | WaitUntil | Read | None


def survey(cursor: Cursor, listing: Listing, now: float, settings: PlanSettings) -> Survey:
    first = cursor.first_needed_seq
    run: list[int] = []
    seq = first
    while seq in listing.chunks and len(run) < settings.max_chunks_per_read:
        run.append(seq)
        seq += 1
    missing = seq  # first seq not available (or beyond the read limit)
    later = [s for s in listing.chunks if s > missing]
    final_seq = listing.final_seq
    final = final_seq is not None and (not run or run[-1] >= final_seq or final_seq < first)
    gap_ends_at: float | None = None
    if not final and len(run) < settings.max_chunks_per_read:
        since = [listing.chunks[s] for s in later]
        if final_seq is not None and final_seq >= missing and listing.final_marked_at:
            since.append(listing.final_marked_at)
        if since:
            gap_ends_at = min(since) + settings.gap_wait_seconds
    return Survey(listing, now, run, missing, later, final, gap_ends_at)


def before_read(state: SessionState, found: Survey, settings: PlanSettings) -> Step:
    """What can be decided from the listing alone; Read when the bytes are needed."""
    cursor = state.cursor
    if not cursor.init and 0 not in found.listing.chunks:
        return _await_init(cursor, found, settings)
    settled = found.final or found.gap_ready
    if not settled and not _enough_new_audio(cursor, found.run, settings):
        return _gap_wait(found)
    return Read(found.run)


def cut(
    session_id: str, state: SessionState, found: Survey, chunks: Mapping[int, bytes], settings: PlanSettings
) -> Plan | WaitUntil | None:
    """The next claim, from the run's bytes."""
    cursor = state.cursor
    joined = _join(found.run, chunks)
    init = cursor.init
    if not init:
        try:
            init = webm.parse_init(chunks[0]).data
        except webm.WebmError:
            return Plan(cursor=replace(cursor, version=cursor.version + 1, done=True), event="init_invalid")
    settled = found.final or found.gap_ready
    start = _cut_offset(cursor, init, joined)
    resync = False
    try:
        clusters = webm.scan_clusters(joined.buf, start) if start < len(joined.buf) else []
    except webm.WebmError:  # unparseable bytes: what decodes so far goes out, then resync
        clusters, settled, resync = [], True, True
    picked = _choose(clusters, settled, settings)
    if picked is None:
        return _gap_wait(found)
    chosen, next_cut = picked
    plan = _cut_segment(session_id, state, init, joined, chosen, next_cut)
    if next_cut is not None:
        return replace(plan, cursor=_after_cut(plan.cursor, joined, chosen[-1], next_cut))
    if found.final:
        return replace(plan, cursor=replace(plan.cursor, done=True), event="flushed")
    return replace(
        plan,
        cursor=_after_gap(plan.cursor, found),
        event="resync" if resync else "gap_skipped",
        missing_seq=found.missing,
    )


def _await_init(cursor: Cursor, found: Survey, settings: PlanSettings) -> Plan | WaitUntil | None:
    """Chunk 0 is missing. While the talk goes on, its arrival re-plans; after the end
    it gets init_wait_seconds before the session is given up."""
    listing = found.listing
    if listing.final_seq is None:
        return None
    done = replace(cursor, version=cursor.version + 1, done=True)
    if listing.final_seq < 0:
        return Plan(cursor=done, event="no_audio")
    marked_at = listing.final_marked_at if listing.final_marked_at is not None else found.now
    give_up_at = marked_at + settings.init_wait_seconds
    if found.now < give_up_at:
        return WaitUntil(at=give_up_at, reason="chunk 0")
    return Plan(cursor=done, event="init_missing")


def _enough_new_audio(cursor: Cursor, run: list[int], settings: PlanSettings) -> bool:
    """Whether the run likely holds a full segment after the cut: worth reading."""
    new_run = [s for s in run if s >= cursor.cut_seq]
    return len(new_run) * settings.estimated_chunk_ms >= settings.target_ms + settings.estimated_chunk_ms


def _gap_wait(found: Survey) -> WaitUntil | None:
    if found.gap_ends_at is None:
        return None
    return WaitUntil(at=found.gap_ends_at, reason=f"chunk {found.missing}")


def _join(run: list[int], chunks: Mapping[int, bytes]) -> _Joined:
    starts: dict[int, int] = {}
    offset = 0
    for s in run:
        starts[s] = offset
        offset += len(chunks[s])
    return _Joined(run=run, buf=b"".join(chunks[s] for s in run), starts=starts)


def _cut_offset(cursor: Cursor, init: bytes, joined: _Joined) -> int:
    """Where in the join the segment's first Cluster starts (the join's end if not in it)."""
    if cursor.cut_offset == AFTER_INIT:
        return len(init)
    if cursor.cut_seq not in joined.starts:
        return len(joined.buf)
    if cursor.cut_offset == RESYNC:
        found = webm.find_cluster_start(joined.buf, joined.starts[cursor.cut_seq])
        return found if found >= 0 else len(joined.buf)
    return joined.starts[cursor.cut_seq] + cursor.cut_offset


def _choose(
    clusters: list[webm.Cluster], settled: bool, settings: PlanSettings
) -> tuple[list[webm.Cluster], int | None] | None:
    """The Clusters of the next segment and the offset of the Cluster after them (the
    next cut); None while a full segment is not there yet. Once settled (the talk's end,
    or a gap given up on), all that decodes goes into one last segment, with no cut."""
    target = settings.target_ms * 48
    chosen: list[webm.Cluster] = []
    total = 0
    for index, cluster in enumerate(clusters):
        if not cluster.complete:
            break
        chosen.append(cluster)
        total += cluster.samples
        if total >= target and index + 1 < len(clusters):
            return chosen, clusters[index + 1].offset
    if not settled:
        return None
    return [c for c in clusters if c.samples > 0], None


def _cut_segment(
    session_id: str,
    state: SessionState,
    init: bytes,
    joined: _Joined,
    chosen: list[webm.Cluster],
    next_cut: int | None,
) -> Plan:
    """The segment of the chosen Clusters (none: a claim that only moves the cursor) and
    the cursor after it, its cut position still to be set."""
    cursor = state.cursor
    new = replace(cursor, version=cursor.version + 1, init=init)
    if not chosen:
        return Plan(cursor=new)
    total = sum(c.samples for c in chosen)
    # After lost chunks, the first Cluster's timecode puts the segment back on the talk's
    # timeline: the jump is the audio that never arrived.
    start = cursor.emitted_samples
    if cursor.cut_offset == RESYNC and chosen[0].timecode_ms is not None:
        start = max(start, chosen[0].timecode_ms * 48)
    end = next_cut if next_cut is not None else chosen[-1].end
    if cursor.preroll_seq >= 0:
        begin = joined.starts[cursor.preroll_seq] + cursor.preroll_offset
        drop = cursor.preroll_samples
    else:
        begin, drop = chosen[0].offset, 0
    batch = Batch(
        session_id=session_id,
        index=cursor.batch_index,
        start_ms=start // 48,
        duration_ms=total // 48,
        first_seq=joined.position(chosen[0].offset)[0],
        last_seq=joined.position(max(end - 1, chosen[0].offset))[0],
        pcm=b"",
        source_language=state.source_language,
        missed_ms=(start - cursor.emitted_samples) // 48,
    )
    return Plan(
        cursor=replace(new, batch_index=cursor.batch_index + 1, emitted_samples=start + total),
        webm=init + joined.buf[begin:end],
        drop_samples=drop,
        batch=batch,
    )


def _after_cut(cursor: Cursor, joined: _Joined, last: webm.Cluster, next_cut: int) -> Cursor:
    """The next segment starts at next_cut, with this segment's last Cluster as pre-roll."""
    preroll_seq, preroll_offset = joined.position(last.offset)
    cut_seq, cut_offset = joined.position(next_cut)
    return replace(
        cursor,
        cut_seq=cut_seq,
        cut_offset=cut_offset,
        preroll_seq=preroll_seq,
        preroll_offset=preroll_offset,
        preroll_samples=last.samples,
    )


def _after_gap(cursor: Cursor, found: Survey) -> Cursor:
    """A chunk is missing and was waited for: resume at the first Cluster after it."""
    return replace(
        cursor,
        cut_seq=min(found.later, default=found.missing + 1),
        cut_offset=RESYNC,
        preroll_seq=-1,
        preroll_offset=0,
        preroll_samples=0,
        gaps=cursor.gaps + 1,
    )
