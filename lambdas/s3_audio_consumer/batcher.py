"""Cuts a session's stored chunks into PCM batches, each chunk in exactly one batch.

A cursor in the session item says where the next batch's audio starts (a Cluster
start, as chunk seq + byte offset) and which Cluster precedes it (the pre-roll).
Any number of invocations may run for one session, in any order and more than
once per chunk: each computes and decodes the next batch from the cursor, claims it
with a conditional write, and only the winner hands it on. Losers reload and look for
the batch after it. A failed hand-off rolls the claim back and raises, so that
Lambda's retry of the event hands the same batch on again.

A missing chunk is waited for `gap_wait_seconds` from the first sign that it is
missing (a later chunk or the end-of-stream marker), then skipped. Chunk 0 holds the
init segment without which nothing decodes, and later chunks can overtake it (each
is its own invocation; a cold start delays one), so it is never skipped: it is waited
for as long as the talk goes on and `init_wait_seconds` after the end-of-stream
marker. Given a deadline, `advance` sleeps through such a wait itself, because no
further S3 event may come to end it (a chunk lost just before the end marker)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from s3_audio_consumer import webm
from s3_audio_consumer.decoder import DecodeError

logger = logging.getLogger(__name__)


AFTER_INIT = -1  # the first Cluster of chunk 0
RESYNC = -2  # the first Cluster header found in chunk cut_seq (after a lost chunk)
MAX_PASSES = 1000  # per advance call: each pass claims, loses a claim, sleeps or returns
CLOCK_TOLERANCE_SECONDS = 1.0  # S3 timestamps against this machine's clock


@dataclass(frozen=True)
class Cursor:
    version: int = 0
    batch_index: int = 0
    cut_seq: int = 0
    cut_offset: int = -1  # AFTER_INIT or RESYNC, or a byte offset in chunk cut_seq
    preroll_seq: int = -1  # -1: no pre-roll (first batch, or after a lost chunk)
    preroll_offset: int = 0
    preroll_samples: int = 0
    emitted_samples: int = 0  # 48 kHz samples handed on so far: startMs of the next batch
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
    chunks: dict[int, float]  # seq -> LastModified (epoch seconds)
    final_seq: int | None = None  # from the end-of-stream marker
    final_marked_at: float | None = None


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
    missed_ms: int = 0  # audio lost just before this batch (chunks that never arrived)


@dataclass(frozen=True)
class Plan:
    """The next claim: the cursor to write and the batch it hands on, if any (a claim
    that skips a gap or ends the session may only move the cursor)."""

    cursor: Cursor
    webm: bytes = b""  # init segment + the batch's Clusters, its pre-roll Cluster first
    drop_samples: int = 0  # 48 kHz samples of pre-roll that the decoder drops
    batch: Batch | None = None  # pcm still empty: filled in by the decode


@dataclass(frozen=True)
class WaitUntil:
    """Nothing to claim before `at` (epoch seconds) unless a chunk arrives: then the wait
    for a missing chunk runs out, and the plan changes without any new S3 event."""

    at: float
    window: float  # the configured wait that ends at `at`
    reason: str


class DeadlineReached(RuntimeError):
    """advance ran out of time with work left; raised so that Lambda retries the event."""


class CursorStore(Protocol):
    def load(self, session_id: str) -> SessionState | None: ...
    def claim(self, session_id: str, expected_version: int, new: Cursor) -> bool: ...

    def restore(self, session_id: str, written: Cursor, previous: Cursor) -> bool:
        """Undoes the claim that wrote `written`: puts `previous` back, under version
        written.version + 1 so that versions only grow, if the stored cursor is still
        `written`. False if another claim has moved it on since."""
        ...


class ChunkStore(Protocol):
    def list_from(self, session_id: str, first_seq: int) -> Listing: ...
    def read(self, session_id: str, seqs: list[int]) -> dict[int, bytes]: ...


class Decoder(Protocol):
    def decode(self, webm: bytes, drop_samples_48k: int = 0) -> bytes: ...


@dataclass
class BatchSettings:
    target_ms: int = 3000
    gap_wait_seconds: float = 2.0
    max_chunks_per_read: int = 60
    estimated_chunk_ms: int = 300  # MediaRecorder timeslice 250 ms yields ~300 ms Opus clusters
    # Chunk 0 is waited for without limit while the talk goes on, and this long after the
    # end-of-stream marker; keep it below the function timeout so that the marker's own
    # invocation can sleep through it.
    init_wait_seconds: float = 30.0
    wait_poll_seconds: float = 0.5  # re-plan interval while advance sleeps through a wait


@dataclass
class Counters:
    batches: int = 0
    gaps: int = 0
    decode_failures: int = 0
    lost_claims: int = 0
    deliver_failures: int = 0


@dataclass(frozen=True)
class _Survey:
    """What the listing says about the chunks from the cursor's first needed one on."""

    listing: Listing
    now: float
    run: list[int]  # consecutive seqs present from the first needed one (read limit applies)
    missing: int  # the first seq after the run
    later: list[int]  # seqs present beyond `missing`
    final: bool  # the run reaches the end-of-stream marker's finalSeq
    gap_ends_at: float | None  # when the wait for `missing` runs out, if it is waited for

    @property
    def gap_ready(self) -> bool:
        return self.gap_ends_at is not None and self.now >= self.gap_ends_at


@dataclass(frozen=True)
class _Stream:
    """The run's chunks joined, with the offset of each chunk in the join."""

    run: list[int]
    data: dict[int, bytes]
    buf: bytes
    starts: dict[int, int]

    def position(self, offset: int) -> tuple[int, int]:
        """(chunk seq, offset in that chunk) of an offset in the join."""
        owner = max(s for s in self.run if self.starts[s] <= offset)
        return owner, offset - self.starts[owner]


class Batcher:
    def __init__(
        self,
        cursors: CursorStore,
        chunks: ChunkStore,
        decoder: Decoder,
        deliver: Callable[[Batch], None],
        settings: BatchSettings,
        clock: Callable[[], float],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._cursors = cursors
        self._chunks = chunks
        self._decoder = decoder
        self._deliver = deliver
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self.counters = Counters()

    def advance(self, session_id: str, deadline: float | None = None) -> int:
        """Hands on every batch that is ready now; returns how many this call did.

        With a deadline (epoch seconds, on the clock's scale) it also sleeps through a
        running wait for a missing chunk, so that the end of the wait is acted on without
        a further S3 event, and raises DeadlineReached rather than leave work undone past
        the deadline. Without one it returns as soon as nothing is ready."""
        handed = 0
        for _ in range(MAX_PASSES):
            state = self._cursors.load(session_id)
            if state is None:
                logger.warning("chunks for an unknown session", extra={"sessionId": session_id})
                return handed
            if state.cursor.done:
                return handed
            step = self._plan(session_id, state)
            if step is None:
                return handed
            if isinstance(step, WaitUntil):
                if not self._sleep_through(session_id, step, deadline):
                    return handed
                continue
            if deadline is not None and self._clock() >= deadline:
                raise DeadlineReached(
                    f"session {session_id}: batch {state.cursor.batch_index} left for a retry"
                )
            handed += self._hand_on(session_id, state.cursor, step)
        return handed

    def _sleep_through(self, session_id: str, wait: WaitUntil, deadline: float | None) -> bool:
        """Sleeps towards wait.at, in polls so that a chunk arriving meanwhile ends the
        sleep early; False if this call does not wait (no deadline, or a wait that is
        not one of the configured ones)."""
        if deadline is None:
            return False
        now = self._clock()
        if wait.at - now > wait.window + CLOCK_TOLERANCE_SECONDS:
            return False
        if now >= deadline:
            raise DeadlineReached(f"session {session_id}: still waiting for {wait.reason}")
        wake = min(wait.at, deadline, now + self._settings.wait_poll_seconds)
        self._sleep(max(0.0, wake - now))
        return True

    def _hand_on(self, session_id: str, previous: Cursor, plan: Plan) -> int:
        """Decodes, then claims, then delivers, so that no claim is left standing for a
        batch that was not handed on. Returns 1 if a batch was handed on."""
        pcm = b""
        failure: DecodeError | None = None
        if plan.batch is not None:
            try:
                pcm = self._decoder.decode(plan.webm, plan.drop_samples)
            except DecodeError as error:  # these bytes never decode: retrying cannot help
                failure = error
        if not self._cursors.claim(session_id, previous.version, plan.cursor):
            self.counters.lost_claims += 1
            return 0
        if plan.batch is None:
            return 0
        if failure is not None:
            self.counters.decode_failures += 1
            logger.error(
                "batch decode failed; skipped",
                extra={"sessionId": session_id, "index": plan.batch.index, "error": str(failure)},
            )
            return 0
        self._deliver_or_roll_back(session_id, previous, plan, replace(plan.batch, pcm=pcm))
        self.counters.batches += 1
        return 1

    def _deliver_or_roll_back(self, session_id: str, previous: Cursor, plan: Plan, batch: Batch) -> None:
        # The processor is idempotent per (sessionId, index) (its delivery ledger), so a
        # batch that reaches it twice (an invoke that succeeded although it raised here,
        # then the retry) is harmless; a batch that never reaches it is not: the rollback.
        try:
            self._deliver(batch)
        except Exception:
            self.counters.deliver_failures += 1
            extra = {"sessionId": session_id, "index": batch.index}
            if self._cursors.restore(session_id, plan.cursor, previous):
                logger.warning("hand-off failed; claim rolled back for the retry", extra=extra)
            else:
                logger.error("hand-off failed and the cursor has moved on; batch lost", extra=extra)
            raise

    def _plan(self, session_id: str, state: SessionState) -> Plan | WaitUntil | None:
        """The next claim; WaitUntil while a missing chunk is being waited for; None while
        the next batch needs chunks that have not arrived (their events re-plan)."""
        cursor = state.cursor
        survey = self._survey(session_id, cursor)
        if not cursor.init and 0 not in survey.listing.chunks:
            return self._await_init(session_id, cursor, survey)
        settled = survey.final or survey.gap_ready  # no more audio to wait for before cutting
        if not settled and not self._enough_new_audio(cursor, survey.run):
            return self._gap_wait(survey)
        stream = self._read(session_id, survey.run)
        init = cursor.init
        if not init:
            try:
                init = webm.parse_init(stream.data[0]).data
            except webm.WebmError as error:
                logger.error("chunk 0 is not a MediaRecorder WebM/Opus init", extra={"error": str(error)})
                return Plan(cursor=replace(cursor, version=cursor.version + 1, done=True))
        cut = self._cut_offset(cursor, init, stream)
        try:
            clusters = webm.scan_clusters(stream.buf, cut) if cut < len(stream.buf) else []
        except webm.WebmError as error:
            logger.error("unparseable chunk data; resynchronizing", extra={"error": str(error)})
            clusters = []
            settled = True
        picked = self._choose(clusters, settled)
        if picked is None:
            return self._gap_wait(survey)
        chosen, next_cut = picked
        plan = self._cut_batch(session_id, state, init, stream, chosen, next_cut)
        if next_cut is not None:
            return replace(plan, cursor=self._after_cut(plan.cursor, stream, chosen[-1], next_cut))
        if survey.final:
            logger.info(
                "session audio flushed", extra={"sessionId": session_id, "batches": plan.cursor.batch_index}
            )
            return replace(plan, cursor=replace(plan.cursor, done=True))
        return replace(plan, cursor=self._after_gap(session_id, plan.cursor, survey))

    def _survey(self, session_id: str, cursor: Cursor) -> _Survey:
        settings = self._settings
        first = cursor.first_needed_seq
        listing = self._chunks.list_from(session_id, first)
        now = self._clock()
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
        return _Survey(listing, now, run, missing, later, final, gap_ends_at)

    def _await_init(self, session_id: str, cursor: Cursor, survey: _Survey) -> Plan | WaitUntil | None:
        """Chunk 0 is missing. Until the end-of-stream marker, chunk 0's own event re-plans;
        after it, chunk 0 gets init_wait_seconds before the session is given up."""
        listing = survey.listing
        if listing.final_seq is None:
            return None
        done = Plan(cursor=replace(cursor, version=cursor.version + 1, done=True))
        if listing.final_seq < 0:
            logger.info("session ended before any audio", extra={"sessionId": session_id})
            return done
        marked_at = listing.final_marked_at if listing.final_marked_at is not None else survey.now
        give_up_at = marked_at + self._settings.init_wait_seconds
        if survey.now < give_up_at:
            return WaitUntil(at=give_up_at, window=self._settings.init_wait_seconds, reason="chunk 0")
        logger.error(
            "chunk 0 (init segment) never arrived; session audio cannot be decoded",
            extra={"sessionId": session_id, "finalSeq": listing.final_seq},
        )
        return done

    def _enough_new_audio(self, cursor: Cursor, run: list[int]) -> bool:
        """Whether the run likely holds a full batch after the cut: worth reading."""
        new_run = [s for s in run if s >= cursor.cut_seq]
        settings = self._settings
        return len(new_run) * settings.estimated_chunk_ms >= settings.target_ms + settings.estimated_chunk_ms

    def _gap_wait(self, survey: _Survey) -> WaitUntil | None:
        if survey.gap_ends_at is None:
            return None
        return WaitUntil(
            at=survey.gap_ends_at, window=self._settings.gap_wait_seconds, reason=f"chunk {survey.missing}"
        )

    def _read(self, session_id: str, run: list[int]) -> _Stream:
        data = self._chunks.read(session_id, run) if run else {}
        starts: dict[int, int] = {}
        offset = 0
        for s in run:
            starts[s] = offset
            offset += len(data[s])
        return _Stream(run=run, data=data, buf=b"".join(data[s] for s in run), starts=starts)

    @staticmethod
    def _cut_offset(cursor: Cursor, init: bytes, stream: _Stream) -> int:
        """Where in the join the batch's first Cluster starts (the join's end if not in it)."""
        if cursor.cut_offset == AFTER_INIT:
            return len(init)
        if cursor.cut_seq not in stream.starts:
            return len(stream.buf)
        if cursor.cut_offset == RESYNC:
            found = webm.find_cluster_start(stream.buf, stream.starts[cursor.cut_seq])
            return found if found >= 0 else len(stream.buf)
        return stream.starts[cursor.cut_seq] + cursor.cut_offset

    def _choose(
        self, clusters: list[webm.Cluster], settled: bool
    ) -> tuple[list[webm.Cluster], int | None] | None:
        """The Clusters of the next batch and the offset of the Cluster after them (the
        next cut); None while a full batch is not there yet. Once settled (end of stream,
        or a gap given up on), all that decodes goes into one last batch, with no cut."""
        target = self._settings.target_ms * 48
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

    @staticmethod
    def _cut_batch(
        session_id: str,
        state: SessionState,
        init: bytes,
        stream: _Stream,
        chosen: list[webm.Cluster],
        next_cut: int | None,
    ) -> Plan:
        """The batch of the chosen Clusters (none: a claim that only moves the cursor) and
        the cursor after it, its cut position still to be set."""
        cursor = state.cursor
        new = replace(cursor, version=cursor.version + 1, init=init)
        if not chosen:
            return Plan(cursor=new)
        total = sum(c.samples for c in chosen)
        # After lost chunks, the first Cluster's timecode puts the batch back on the talk's
        # timeline: the jump is the audio that never arrived.
        start = cursor.emitted_samples
        if cursor.cut_offset == RESYNC and chosen[0].timecode_ms is not None:
            start = max(start, chosen[0].timecode_ms * 48)
        end = next_cut if next_cut is not None else chosen[-1].end
        if cursor.preroll_seq >= 0:
            begin = stream.starts[cursor.preroll_seq] + cursor.preroll_offset
            drop = cursor.preroll_samples
        else:
            begin, drop = chosen[0].offset, 0
        batch = Batch(
            session_id=session_id,
            index=cursor.batch_index,
            start_ms=start // 48,
            duration_ms=total // 48,
            first_seq=stream.position(chosen[0].offset)[0],
            last_seq=stream.position(max(end - 1, chosen[0].offset))[0],
            pcm=b"",
            source_language=state.source_language,
            missed_ms=(start - cursor.emitted_samples) // 48,
        )
        return Plan(
            cursor=replace(new, batch_index=cursor.batch_index + 1, emitted_samples=start + total),
            webm=init + stream.buf[begin:end],
            drop_samples=drop,
            batch=batch,
        )

    @staticmethod
    def _after_cut(cursor: Cursor, stream: _Stream, last: webm.Cluster, next_cut: int) -> Cursor:
        """The next batch starts at next_cut, with the batch's last Cluster as pre-roll."""
        preroll_seq, preroll_offset = stream.position(last.offset)
        cut_seq, cut_offset = stream.position(next_cut)
        return replace(
            cursor,
            cut_seq=cut_seq,
            cut_offset=cut_offset,
            preroll_seq=preroll_seq,
            preroll_offset=preroll_offset,
            preroll_samples=last.samples,
        )

    def _after_gap(self, session_id: str, cursor: Cursor, survey: _Survey) -> Cursor:
        """A chunk is missing and was waited for: resume at the first Cluster after it."""
        self.counters.gaps += 1
        logger.warning("chunk missing; skipped", extra={"sessionId": session_id, "seq": survey.missing})
        return replace(
            cursor,
            cut_seq=min(survey.later, default=survey.missing + 1),
            cut_offset=RESYNC,
            preroll_seq=-1,
            preroll_offset=0,
            preroll_samples=0,
            gaps=cursor.gaps + 1,
        )
