"""The session's streaming worker: one recognition stream for the talk, handed over
to a successor before Lambda's 15-minute limit.

It reads the session's chunks by key in seq order, cuts them into short PCM segments
with the segment planner (every sample in exactly one segment, whatever the arrival
order), sends the segments to one recognition stream, cuts the stream's results into
utterances and hands each utterance to the audio processor. The ingest cursor says
which audio has been fed; the lease's checkpoint says what the listeners already got.

- Handover: `prepare_lead_s` before `handover_after_s` the worker starts its successor,
  which opens its stream and stands by (sending a little silence so the stream stays
  open). At the next moment the stream has no open partial (or at the latest
  `handover_pause_wait_s` later), the worker closes its stream, waits for its last
  results, emits them, checkpoints and names the successor, which takes over at once
  with its stream already open: no cold start nor stream start in the handover. The
  successor feeds from exactly where the predecessor stopped: every sample goes to
  exactly one stream. Its results are placed on the talk's timeline with the offset of
  its first segment (a stream's timestamps restart at 0; its standby silence before).
- Crash: a worker whose lease expired is replaced on the next chunk, or by the
  session's worker watch (shared/worker_watch.py) when no chunk comes; a worker that
  cannot go on (its stream or its hand-off failed) gives its lease up at once. The
  replacement rewinds the ingest cursor to the checkpoint (the segment holding the end
  of the last emitted utterance) and drops re-recognized words that end before it.
- Delivery: an utterance is handed to the processor (retried with backoff) before the
  checkpoint moves past it; the processor's per-index ledger makes the listeners get it
  once. One the processor will not take after the retries goes to the undelivered
  queue (the listeners miss that sentence; an operator can redrive it) and the talk
  goes on; if even that fails, the worker stops without moving its checkpoint and its
  replacement delivers the utterance again.
- Silence: Transcribe ends a stream that gets no audio for 15 s, so a stream idle for
  `idle_close_s` (paused or suspended speaker) is closed and flushed; after `park_after_s`
  without audio the worker parks (checkpoints and exits: no Lambda is held through a
  pause) and the next chunk starts a successor.
- The end: the session item says when the talk is over (ended by the speaker or the
  grace timer, or past its maximum length) and which chunk was its last.

Knows nothing of Lambda events: the handler builds it and calls `run`."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from s3_audio_consumer.keyed_chunks import Hints
from s3_audio_consumer.lease import Checkpoint, Claim, DynamoLease, SessionView
from s3_audio_consumer.planner import Batch, Cursor, SessionState
from s3_audio_consumer.ports import CursorStore, Successor, UndeliveredSink, UtteranceSink
from s3_audio_consumer.recognition import (
    AUDIO_EVENT_BYTES,
    AUDIO_EVENT_MS,
    RecognitionStream,
    Recognizer,
    StreamFailed,
)
from s3_audio_consumer.segmenter import Counters, Segmenter
from s3_audio_consumer.utterances import StreamResult, Utterance, UtteranceCutter
from shared.audio_unit import PCM_SAMPLE_RATE
from shared.languages import LANGUAGES

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerSettings:
    handover_after_s: float = 720.0  # AWS's Live Call Analytics sample hands over at 12 minutes
    handover_pause_wait_s: float = 30.0
    heartbeat_s: float = 1.0
    poll_s: float = 0.1
    idle_close_s: float = 10.0  # Transcribe times a stream out after 15 s without audio
    close_timeout_s: float = 10.0
    start_retries: int = 3
    park_after_s: float = 30.0  # no audio this long (a pause): checkpoint and exit
    hand_off_retries: int = 4  # invoke attempts after the first, 0.2 s doubling
    prepare_lead_s: float = 10.0  # a successor's cold start (1-4 s) and stream start, with margin
    standby_keepalive_s: float = 2.0  # Transcribe ends a stream after 15 s without audio


@dataclass(frozen=True)
class WorkerRun:
    outcome: str  # ended | handed_over | parked | lost_lease | not_claimed | stream_failed | hand_off_failed
    generation: int
    utterances: int = 0
    streams: int = 0
    fed_ms: int = 0
    gaps: int = 0  # chunks waited for and skipped
    decode_failures: int = 0
    hand_off_retries: int = 0
    close_timeouts: int = 0  # streams whose last results did not all come in time
    missed_ms: int = 0  # audio that never arrived (gaps waited for and skipped)
    undelivered: int = 0  # utterances the processor would not take, kept in the undelivered queue


class HandOffFailed(RuntimeError):
    """Neither the processor nor the undelivered queue took an utterance: the worker
    stops without moving its checkpoint, so its replacement delivers it again."""


class LeaseLost(RuntimeError):
    """Another worker holds the session now: stop at once, touch nothing."""


class TrackedCursors:
    """The cursor store, remembering the cursor each segment was cut from: the place a
    crash replacement rewinds to, so re-fed audio covers the words not yet emitted.

    The worker's writes are fenced by its lease, so while it holds the lease nobody else
    moves the cursor: it is read once and then kept from the worker's own claims (the
    segmenter asks for it every poll, ~10 a second). A claim that fails (the lease moved
    on) forgets it, so the next load reads the table."""

    def __init__(self, inner: CursorStore) -> None:
        self.inner = inner
        self.loaded: Cursor | None = None
        self.last_claim: tuple[Cursor, Cursor] | None = None
        self._kept: SessionState | None = None

    def load(self, session_id: str) -> SessionState | None:
        state = self._kept or self.inner.load(session_id)
        self._kept = state
        self.loaded = state.cursor if state else None
        return state

    def claim(self, session_id: str, expected_version: int, new: Cursor) -> bool:
        claimed = self.inner.claim(session_id, expected_version, new)
        if claimed and self.loaded is not None:
            self.last_claim = (self.loaded, new)
        self._kept = replace(self._kept, cursor=new) if claimed and self._kept else None
        return claimed

    def restore(self, session_id: str, written: Cursor, previous: Cursor) -> bool:
        # What was loaded and claimed before is history now: the next load reads the table.
        self._kept = self.loaded = self.last_claim = None
        return self.inner.restore(session_id, written, previous)


@dataclass
class _Stretch:
    """One recognition stream and what it has been fed."""

    stream: RecognitionStream
    cutter: UtteranceCutter
    last_audio_at: float


@dataclass
class _Standby:
    """A successor's stream, opened before the handover: `silence_ms` of keep-alive
    silence went in first."""

    stream: RecognitionStream
    silence_ms: int = 0


@dataclass
class _Run:
    session_id: str
    owner: str
    claim: Claim
    point: Checkpoint
    view: SessionView
    started_at: float
    segments: list[tuple[int, Cursor]] = field(default_factory=list)  # (start_ms, cursor cut from)
    stretch: _Stretch | None = None
    beat_at: float = 0.0
    progressed: bool = False  # a segment reached the stream: the start grace is over
    prepared: bool = False  # the successor was started early
    standby: _Standby | None = None  # this worker's own stream, opened while standing by
    last_audio_at: float = 0.0
    streams: int = 0
    utterances: int = 0
    fed_ms: int = 0
    hand_off_retries: int = 0
    close_timeouts: int = 0
    undelivered: int = 0
    missed_ms: int = 0  # audio that never arrived, skipped
    untold_gap_ms: int = 0  # ... not yet told to the speaker (with the next utterance)
    refed_from_ms: int | None = None  # where the last cut-off close had the audio fed again


class SessionWorker:
    def __init__(
        self,
        *,
        lease: DynamoLease,
        cursors: Callable[[str], TrackedCursors],
        segmenter: Callable[[TrackedCursors, Callable[[Batch], None]], Segmenter],
        hints: Hints,
        recognizer: Recognizer,
        sink: UtteranceSink,
        undelivered: UndeliveredSink,
        successor: Successor,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        settings: WorkerSettings,
    ) -> None:
        self._lease = lease
        self._make_cursors = cursors
        self._make_segmenter = segmenter
        self._hints = hints
        self._recognizer = recognizer
        self._sink = sink
        self._undelivered = undelivered
        self._successor = successor
        self._clock = clock
        self._sleep = sleep
        self._settings = settings
        self.counters: Counters | None = None

    # -- the run ------------------------------------------------------------------------
    def run(self, session_id: str, generation: int, deadline: float) -> WorkerRun:
        owner = uuid.uuid4().hex
        claim = self._lease.claim(session_id, generation, owner, self._ms())
        standby: _Standby | None = None
        if claim is None:
            claim, standby = self._stand_by(session_id, generation, owner)
        if claim is None:
            return WorkerRun("not_claimed", generation)
        # Cursor writes are fenced by this worker's lease (see DynamoCursorStore).
        self._cursors = self._make_cursors(owner)
        run = _Run(session_id, owner, claim, claim.checkpoint, claim.session, self._clock())
        run.standby = standby
        run.last_audio_at = run.started_at
        if claim.after_crash:  # no checkpoint yet: the dead worker's audio is all re-fed
            self._rewind(session_id, claim.checkpoint.resume or Cursor())
        segmenter = self._make_segmenter(self._cursors, lambda batch: self._feed(run, batch))
        logger.info(
            "worker started",
            extra={"sessionId": session_id, "generation": generation, "afterCrash": claim.after_crash},
        )
        try:
            outcome = self._loop(run, segmenter, deadline)
        finally:
            self.counters = segmenter.counters  # for the handler's metrics, also after a crash
            if run.standby is not None:  # opened, never fed
                run.standby.stream.close(0.0)
        return WorkerRun(
            outcome,
            generation,
            run.utterances,
            run.streams,
            run.fed_ms,
            gaps=segmenter.counters.gaps,
            decode_failures=segmenter.counters.decode_failures,
            hand_off_retries=run.hand_off_retries,
            close_timeouts=run.close_timeouts,
            missed_ms=run.missed_ms,
            undelivered=run.undelivered,
        )

    def _loop(self, run: _Run, segmenter: Segmenter, deadline: float) -> str:
        try:
            return self._steps(run, segmenter, deadline)
        except LeaseLost:
            logger.warning("lease lost; another worker has the session", extra={"sessionId": run.session_id})
            self._abandon(run)
            return "lost_lease"
        except (StreamFailed, HandOffFailed) as error:
            # Not raised: a retry of this generation could never claim the lease again.
            # The lease is given up now, so the next kick (a chunk, or the watch) starts a
            # replacement at once; it resumes from the checkpoint.
            logger.exception("the worker cannot go on; lease released", extra={"sessionId": run.session_id})
            self._abandon(run)
            self._lease.release(run.session_id, run.owner)
            return "stream_failed" if isinstance(error, StreamFailed) else "hand_off_failed"

    def _stand_by(self, session_id: str, generation: int, owner: str) -> tuple[Claim | None, _Standby | None]:
        """The predecessor started this worker early: open a stream, register, and take
        the session the moment it is handed over (or its holder's lease expires)."""
        view = self._lease.stand_by(session_id, generation)
        if view is None:
            return None, None  # not prepared for: a duplicate or stale start
        try:
            standby = _Standby(self._recognizer.start(LANGUAGES[view.source_language], PCM_SAMPLE_RATE))
        except StreamFailed:
            self._lease.stand_by(session_id, generation, ready=False)  # the handover starts one
            return None, None
        began = kept_alive = self._clock()
        limit = self._settings.prepare_lead_s + self._settings.handover_pause_wait_s + 10.0
        while self._clock() - began < limit:
            claim = self._lease.claim(session_id, generation, owner, self._ms())
            if claim is not None:
                return claim, standby
            if self._clock() - kept_alive >= self._settings.standby_keepalive_s:
                standby.stream.send(bytes(AUDIO_EVENT_BYTES))  # 100 ms of silence
                standby.silence_ms += AUDIO_EVENT_MS
                kept_alive = self._clock()
            standby.stream.results()
            self._sleep(self._settings.poll_s)
        standby.stream.close(0.0)
        self._lease.stand_by(session_id, generation, ready=False)
        return None, None

    def _steps(self, run: _Run, segmenter: Segmenter, deadline: float) -> str:
        while True:
            self._beat(run)
            self._prepare_successor(run)
            fed = segmenter.advance(run.session_id)
            self._collect(run)
            claimed, loaded = self._cursors.last_claim, self._cursors.loaded
            ended = (claimed is not None and claimed[1].done) or (loaded is not None and loaded.done)
            if ended and self._finish(run):
                return "ended"
            if self._time_to_hand_over(run, deadline):
                self._hand_over(run)
                return "handed_over"
            self._close_if_idle(run)
            if self._time_to_park(run):
                self._park(run)
                return "parked"
            if not fed:
                self._sleep(self._settings.poll_s)

    def _ms(self) -> int:
        return int(self._clock() * 1000)

    def _beat(self, run: _Run) -> None:
        """Proves the worker alive, at most once a heartbeat period; also between the
        segments of a backlog, so catching up never lets the lease expire. Until the
        first segment reaches a stream, the beat is dated ahead by the start grace."""
        gap = self._clock() - run.beat_at
        if gap < self._settings.heartbeat_s:
            return
        if run.beat_at and gap > 2 * self._settings.heartbeat_s:
            logger.warning("heartbeat late", extra={"sessionId": run.session_id, "gapSeconds": round(gap, 2)})
        beat_ms = self._ms() if run.progressed else self._lease.grace_beat(self._ms())
        view = self._lease.heartbeat(run.session_id, run.owner, beat_ms)
        if view is None:
            raise LeaseLost(run.session_id)
        run.view, run.beat_at = view, self._clock()
        self._hints.last_seq, self._hints.final_seq = view.last_seq, view.final(self._clock())

    def _rewind(self, session_id: str, resume: Cursor) -> None:
        state = self._cursors.load(session_id)
        if state is None or state.cursor.version == resume.version:
            return
        if self._cursors.restore(session_id, state.cursor, resume):
            logger.warning("ingest cursor rewound to the checkpoint", extra={"sessionId": session_id})

    def _while_beating(self, run: _Run, work: Callable[[], T]) -> T:
        """Runs a call that may block for seconds (a stream start, a stream's last
        results) on a helper thread while this one keeps the lease."""
        box: list[T] = []
        errors: list[BaseException] = []

        def target() -> None:
            try:
                box.append(work())
            except BaseException as error:  # handed to the worker's thread
                errors.append(error)

        helper = threading.Thread(target=target, daemon=True)
        helper.start()
        while helper.is_alive():
            self._sleep(self._settings.poll_s)
            self._beat(run)
        if errors:
            raise errors[0]
        return box[0]

    # -- audio in ---------------------------------------------------------------------------
    def _feed(self, run: _Run, batch: Batch) -> None:
        self._beat(run)
        if batch.missed_ms > 0:
            self._report_gap(run, batch)
        claimed = self._cursors.last_claim
        cut_from = claimed[0] if claimed else Cursor()
        run.segments.append((batch.start_ms, cut_from))
        stretch = run.stretch or self._open(run, batch.start_ms)
        stretch.stream.send(batch.pcm)
        stretch.last_audio_at = run.last_audio_at = self._clock()
        run.fed_ms = batch.start_ms + batch.duration_ms
        run.progressed = True

    def _report_gap(self, run: _Run, batch: Batch) -> None:
        """Audio was lost before this batch: the talk's timeline jumps. A stream's times
        run on without the jump, so the open stream is closed (its words emitted) and the
        next opens at the batch's place on the timeline."""
        run.missed_ms += batch.missed_ms
        run.untold_gap_ms += batch.missed_ms
        logger.warning(
            "audio lost before this segment; the talk goes on",
            extra={"sessionId": run.session_id, "missedMs": batch.missed_ms, "atMs": batch.start_ms},
        )
        claimed = self._cursors.last_claim
        # This batch is not fed yet, and is being fed now: no rewind behind it.
        self._close(run, resume=claimed[0] if claimed else None, refeed=False)

    def _open(self, run: _Run, offset_ms: int) -> _Stretch:
        if run.standby is not None:  # opened while standing by: its silence comes first
            standby, run.standby = run.standby, None
            return self._stretch(run, standby.stream, offset_ms - standby.silence_ms)
        language = LANGUAGES[run.view.source_language]
        for attempt in range(self._settings.start_retries + 1):
            try:
                stream = self._while_beating(run, lambda: self._recognizer.start(language, PCM_SAMPLE_RATE))
                break
            except StreamFailed as error:
                if not error.retryable or attempt == self._settings.start_retries:
                    raise
                self._sleep(0.5 * 2**attempt)  # throttled at start: back off, the audio waits
                self._beat(run)
        return self._stretch(run, stream, offset_ms)

    def _stretch(self, run: _Run, stream: RecognitionStream, offset_ms: int) -> _Stretch:
        cutter = UtteranceCutter(
            first_index=run.point.next_index,
            stream_offset_ms=offset_ms,
            skip_until_ms=run.point.emitted_until_ms,
        )
        run.stretch = _Stretch(stream, cutter, self._clock())
        run.streams += 1
        return run.stretch

    # -- utterances out ----------------------------------------------------------------------
    def _collect(self, run: _Run) -> None:
        if run.stretch is None:
            return
        for result in run.stretch.stream.results():
            self._emit(run, run.stretch.cutter.feed(result))

    def _emit(self, run: _Run, utterances: list[Utterance]) -> None:
        """Delivers, then checkpoints: an utterance whose hand-off failed is not behind the
        checkpoint, so the replacement delivers it again. One that was delivered but whose
        checkpoint was lost (the lease moved on) is delivered again under the same index,
        and the processor's ledger drops the second."""
        for utterance in utterances:
            self._hand_off(run, utterance)
            point = Checkpoint(utterance.index + 1, utterance.end_ms, self._resume_for(run, utterance.end_ms))
            if not self._lease.checkpoint(run.session_id, run.owner, point):
                raise LeaseLost(run.session_id)
            run.point = point
            run.utterances += 1

    def _hand_off(self, run: _Run, utterance: Utterance) -> None:
        for attempt in range(self._settings.hand_off_retries + 1):
            try:
                self._sink(run.session_id, run.view.source_language, utterance, run.untold_gap_ms)
                run.untold_gap_ms = 0
                return
            except Exception as error:
                if attempt == self._settings.hand_off_retries:
                    self._keep_undelivered(run, utterance, error)
                    return
                run.hand_off_retries += 1
                logger.warning(
                    "hand-off failed; retrying",
                    extra={"sessionId": run.session_id, "index": utterance.index, "error": str(error)},
                )
                self._sleep(0.2 * 2**attempt)
                self._beat(run)

    def _keep_undelivered(self, run: _Run, utterance: Utterance, error: Exception) -> None:
        """The processor would not take it: the talk goes on, the utterance waits in the
        undelivered queue. Only if that fails too does the worker stop (its place kept)."""
        try:
            self._undelivered(
                run.session_id, run.view.source_language, utterance, run.untold_gap_ms, str(error)
            )
        except Exception as queue_error:
            raise HandOffFailed(f"utterance {utterance.index}: {error}; queue: {queue_error}") from error
        run.untold_gap_ms = 0
        run.undelivered += 1
        logger.error(
            "utterance not delivered; kept in the undelivered queue",
            extra={"sessionId": run.session_id, "index": utterance.index, "error": str(error)},
        )

    def _resume_for(self, run: _Run, emitted_until_ms: int) -> Cursor | None:
        """The cursor of the segment holding `emitted_until_ms`: audio from there on may
        hold words not yet emitted."""
        holding = [cursor for start, cursor in run.segments if start <= emitted_until_ms]
        if holding:
            keep = len(holding) - 1
            run.segments = run.segments[keep:]  # older segments can never be needed again
            return holding[-1]
        return run.point.resume

    def _close(self, run: _Run, resume: Cursor | None = None, refeed: bool = True) -> bool:
        """Ends the stream and emits everything it still held: afterwards all audio fed
        so far is accounted for, and a successor starts from the current cursor (or
        `resume`, where audio not fed yet starts). False: the stream's last results did
        not all come, and the ingest cursor was rewound to feed their audio again."""
        stretch, run.stretch = run.stretch, None
        if stretch is None:
            return True
        results, complete = self._last_results(run, stretch.stream)
        for result in results:
            self._emit(run, stretch.cutter.feed(result))
        self._emit(run, stretch.cutter.flush())
        emitted_until = max(run.point.emitted_until_ms, stretch.cutter.emitted_until_ms)
        # A second cut-off close with no word emitted in between would loop: accept the loss.
        refeed = refeed and not complete and emitted_until != run.refed_from_ms
        if not refeed:
            claimed = self._cursors.last_claim
            current = resume or (claimed[1] if claimed else run.point.resume)
            emitted_until = max(run.point.emitted_until_ms, run.fed_ms)
        else:
            # Results were cut off: the audio after the last emitted word is fed again,
            # from the segment holding it (by this worker's next stream or its successor,
            # whichever reads next); the next cutter drops what was emitted already.
            run.refed_from_ms = emitted_until
            current = self._resume_for(run, emitted_until)
            if current is not None:
                self._rewind(run.session_id, current)
        run.point = replace(run.point, emitted_until_ms=emitted_until, resume=current)
        run.segments.clear()
        if not self._lease.checkpoint(run.session_id, run.owner, run.point):
            raise LeaseLost(run.session_id)
        return not refeed

    def _last_results(self, run: _Run, stream: RecognitionStream) -> tuple[list[StreamResult], bool]:
        """The last results can take seconds (a recognizer finishing its queue); a close
        that takes the whole timeout may have cut some off: counted, and said (False)."""
        began = self._clock()
        results = self._while_beating(run, lambda: stream.close(self._settings.close_timeout_s))
        if self._clock() - began < self._settings.close_timeout_s:
            return results, True
        run.close_timeouts += 1
        logger.warning(
            "stream closed at its timeout; its audio after the last result is fed again",
            extra={"sessionId": run.session_id},
        )
        return results, False

    def _abandon(self, run: _Run) -> None:
        """Closes the stream at once without emitting anything (the lease is gone or the
        worker cannot go on): no audio stays billed until Transcribe's own timeout."""
        stretch, run.stretch = run.stretch, None
        if stretch is not None:
            try:
                stretch.stream.close(0.0)
            except Exception:  # the stream may be the thing that failed
                logger.warning("stream close after a failure failed", extra={"sessionId": run.session_id})

    def _close_if_idle(self, run: _Run) -> None:
        if run.stretch and self._clock() - run.stretch.last_audio_at >= self._settings.idle_close_s:
            logger.info("no audio for a while; stream closed", extra={"sessionId": run.session_id})
            self._close(run)

    # -- the end of a run ----------------------------------------------------------------------
    def _time_to_hand_over(self, run: _Run, deadline: float) -> bool:
        elapsed = self._clock() - run.started_at
        if self._clock() >= deadline:
            return True
        if elapsed < self._settings.handover_after_s:
            return False
        in_pause = run.stretch is None or run.stretch.stream.at_pause()
        return in_pause or elapsed >= self._settings.handover_after_s + self._settings.handover_pause_wait_s

    def _prepare_successor(self, run: _Run) -> None:
        """Starts the successor early, so that its cold start and stream start are over
        by the time of the handover."""
        lead = self._settings.handover_after_s - self._settings.prepare_lead_s
        if run.prepared or self._clock() - run.started_at < lead:
            return
        run.prepared = True
        successor = run.claim.generation + 1
        if self._lease.prepare(run.session_id, run.owner, successor):
            self._successor(run.session_id, successor)

    def _hand_over(self, run: _Run) -> None:
        self._close(run)
        successor = run.claim.generation + 1
        standing_by = self._lease.hand_over(run.session_id, run.owner, successor)
        if standing_by is None:
            raise LeaseLost(run.session_id)
        if not standing_by:  # not prepared (a deadline), or it could not stand by
            self._successor(run.session_id, successor)
        logger.info(
            "handed over",
            extra={"sessionId": run.session_id, "successor": successor, "standingBy": standing_by},
        )

    def _time_to_park(self, run: _Run) -> bool:
        """A long pause, and not the end of the talk (the end flushes and finishes)."""
        quiet = self._clock() - run.last_audio_at >= self._settings.park_after_s
        return quiet and run.stretch is None and self._hints.final_seq is None

    def _park(self, run: _Run) -> None:
        if not self._lease.park(run.session_id, run.owner, run.point, run.view.last_seq):
            raise LeaseLost(run.session_id)
        logger.info(
            "long pause; worker parked", extra={"sessionId": run.session_id, "lastSeq": run.view.last_seq}
        )

    def _finish(self, run: _Run) -> bool:
        """Flushes the talk and ends the worker; False (nothing ended) when the stream's
        last results were cut off: their audio is fed again first."""
        if not self._close(run):
            return False
        self._lease.finish(run.session_id, run.owner)
        logger.info(
            "talk flushed; worker done", extra={"sessionId": run.session_id, "utterances": run.utterances}
        )
        return True
