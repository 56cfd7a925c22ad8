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

Knows nothing of Lambda events: the handler builds it and calls `run`. This module is the
run loop (claim or stand by, the steps, handover, park, end); the stream's lifecycle is
`streams.py`, delivery `delivery.py`, the lease's beat `beats.py`, the run's bookkeeping
`run_state.py` and the fenced cursor `tracked_cursors.py`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from s3_audio_consumer.beats import Beats
from s3_audio_consumer.delivery import Delivery
from s3_audio_consumer.keyed_chunks import Hints
from s3_audio_consumer.lease import Claim, DynamoLease
from s3_audio_consumer.live_text import LiveSettings, LiveText
from s3_audio_consumer.planner import Batch, Cursor
from s3_audio_consumer.ports import LiveSink, Successor, UndeliveredSink, UtteranceSink
from s3_audio_consumer.recognition import AUDIO_EVENT_BYTES, AUDIO_EVENT_MS, Recognizer, StreamFailed
from s3_audio_consumer.run_state import (
    HandOffFailed,
    LeaseLost,
    RunState,
    Standby,
    WorkerRun,
    WorkerSettings,
)
from s3_audio_consumer.segmenter import Counters, Segmenter
from s3_audio_consumer.streams import StreamLifecycle
from s3_audio_consumer.tracked_cursors import TrackedCursors
from shared.audio_unit import PCM_SAMPLE_RATE
from shared.languages import LANGUAGES

__all__ = ["HandOffFailed", "LeaseLost", "SessionWorker", "TrackedCursors", "WorkerRun", "WorkerSettings"]

logger = logging.getLogger(__name__)


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
        live: LiveSink | None = None,
        live_settings: LiveSettings | None = None,
    ) -> None:
        self._lease = lease
        self._live = live
        self._live_settings = live_settings
        self._make_cursors = cursors
        self._make_segmenter = segmenter
        self._hints = hints
        self._recognizer = recognizer
        self._successor = successor
        self._clock = clock
        self._sleep = sleep
        self._settings = settings
        self._beats = Beats(lease, hints, clock, sleep, settings)
        self._delivery = Delivery(lease, sink, undelivered, self._beats, sleep, settings)
        self.counters: Counters | None = None

    # -- the run ------------------------------------------------------------------------
    def run(self, session_id: str, generation: int, deadline: float) -> WorkerRun:
        owner = uuid.uuid4().hex
        claim = self._lease.claim(session_id, generation, owner, self._beats.ms())
        standby: Standby | None = None
        if claim is None:
            claim, standby = self._stand_by(session_id, generation, owner)
        if claim is None:
            return WorkerRun("not_claimed", generation)
        # Cursor writes are fenced by this worker's lease (see DynamoCursorStore).
        streams = StreamLifecycle(
            cursors=self._make_cursors(owner),
            lease=self._lease,
            recognizer=self._recognizer,
            beats=self._beats,
            delivery=self._delivery,
            clock=self._clock,
            sleep=self._sleep,
            settings=self._settings,
        )
        run = RunState(session_id, owner, claim, claim.checkpoint, claim.session, self._clock())
        run.standby = standby
        if self._live is not None:
            run.live = LiveText(self._live, self._clock, self._live_settings)
        run.last_audio_at = run.started_at
        if claim.after_crash:  # no checkpoint yet: the dead worker's audio is all re-fed
            streams.cursors.rewind(session_id, claim.checkpoint.resume or Cursor())
        segmenter = self._make_segmenter(streams.cursors, lambda batch: streams.feed(run, batch))
        logger.info(
            "worker started",
            extra={"sessionId": session_id, "generation": generation, "afterCrash": claim.after_crash},
        )
        try:
            outcome = self._loop(run, streams, segmenter, deadline)
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

    def _loop(self, run: RunState, streams: StreamLifecycle, segmenter: Segmenter, deadline: float) -> str:
        try:
            return self._steps(run, streams, segmenter, deadline)
        except LeaseLost:
            logger.warning("lease lost; another worker has the session", extra={"sessionId": run.session_id})
            streams.abandon(run)
            return "lost_lease"
        except (StreamFailed, HandOffFailed) as error:
            # Not raised: a retry of this generation could never claim the lease again.
            # The lease is given up now, so the next kick (a chunk, or the watch) starts a
            # replacement at once; it resumes from the checkpoint.
            logger.exception("the worker cannot go on; lease released", extra={"sessionId": run.session_id})
            streams.abandon(run)
            self._lease.release(run.session_id, run.owner)
            return "stream_failed" if isinstance(error, StreamFailed) else "hand_off_failed"

    def _stand_by(self, session_id: str, generation: int, owner: str) -> tuple[Claim | None, Standby | None]:
        """The predecessor started this worker early: open a stream, register, and take
        the session the moment it is handed over (or its holder's lease expires)."""
        view = self._lease.stand_by(session_id, generation)
        if view is None:
            return None, None  # not prepared for: a duplicate or stale start
        try:
            standby = Standby(self._recognizer.start(LANGUAGES[view.source_language], PCM_SAMPLE_RATE))
        except StreamFailed:
            self._lease.stand_by(session_id, generation, ready=False)  # the handover starts one
            return None, None
        began = kept_alive = self._clock()
        limit = self._settings.prepare_lead_s + self._settings.handover_pause_wait_s + 10.0
        while self._clock() - began < limit:
            claim = self._lease.claim(session_id, generation, owner, self._beats.ms())
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

    def _steps(self, run: RunState, streams: StreamLifecycle, segmenter: Segmenter, deadline: float) -> str:
        while True:
            self._beats.beat(run)
            self._prepare_successor(run)
            fed = segmenter.advance(run.session_id)
            streams.collect(run)
            claimed, loaded = streams.cursors.last_claim, streams.cursors.loaded
            ended = (claimed is not None and claimed[1].done) or (loaded is not None and loaded.done)
            if ended and self._finish(run, streams):
                return "ended"
            if self._time_to_hand_over(run, deadline):
                self._hand_over(run, streams)
                return "handed_over"
            streams.close_if_idle(run)
            if self._time_to_park(run):
                self._park(run)
                return "parked"
            if not fed:
                self._sleep(self._settings.poll_s)

    # -- the end of a run ----------------------------------------------------------------------
    def _time_to_hand_over(self, run: RunState, deadline: float) -> bool:
        elapsed = self._clock() - run.started_at
        if self._clock() >= deadline:
            return True
        if elapsed < self._settings.handover_after_s:
            return False
        in_pause = run.stretch is None or run.stretch.stream.at_pause()
        return in_pause or elapsed >= self._settings.handover_after_s + self._settings.handover_pause_wait_s

    def _prepare_successor(self, run: RunState) -> None:
        """Starts the successor early, so that its cold start and stream start are over
        by the time of the handover."""
        lead = self._settings.handover_after_s - self._settings.prepare_lead_s
        if run.prepared or self._clock() - run.started_at < lead:
            return
        run.prepared = True
        successor = run.claim.generation + 1
        if self._lease.prepare(run.session_id, run.owner, successor):
            self._successor(run.session_id, successor)

    def _hand_over(self, run: RunState, streams: StreamLifecycle) -> None:
        streams.close(run)
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

    def _time_to_park(self, run: RunState) -> bool:
        """A long pause, and not the end of the talk (the end flushes and finishes)."""
        quiet = self._clock() - run.last_audio_at >= self._settings.park_after_s
        return quiet and run.stretch is None and self._hints.final_seq is None

    def _park(self, run: RunState) -> None:
        if not self._lease.park(run.session_id, run.owner, run.point, run.view.last_seq):
            raise LeaseLost(run.session_id)
        logger.info(
            "long pause; worker parked", extra={"sessionId": run.session_id, "lastSeq": run.view.last_seq}
        )

    def _finish(self, run: RunState, streams: StreamLifecycle) -> bool:
        """Flushes the talk and ends the worker; False (nothing ended) when the stream's
        last results were cut off: their audio is fed again first."""
        if not streams.close(run):
            return False
        self._lease.finish(run.session_id, run.owner)
        logger.info(
            "talk flushed; worker done", extra={"sessionId": run.session_id, "utterances": run.utterances}
        )
        return True
