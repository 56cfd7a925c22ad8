"""The life of one recognition stream in the session worker: opened at the first
segment (or taken over from standby), fed, its results cut into utterances and
delivered, closed at a gap, a pause, a handover or the end (its last results emitted,
its audio fed again when they were cut off), or abandoned when the worker cannot go on.

One `StreamLifecycle` per run: it holds the run's fenced cursors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from s3_audio_consumer.beats import Beats
from s3_audio_consumer.delivery import Delivery
from s3_audio_consumer.lease import DynamoLease
from s3_audio_consumer.planner import Batch, Cursor
from s3_audio_consumer.recognition import RecognitionStream, Recognizer, StreamFailed
from s3_audio_consumer.run_state import LeaseLost, RunState, Stretch, WorkerSettings
from s3_audio_consumer.tracked_cursors import TrackedCursors
from s3_audio_consumer.utterances import StreamResult, UtteranceCutter
from shared.audio_unit import PCM_SAMPLE_RATE
from shared.languages import LANGUAGES

logger = logging.getLogger(__name__)


class StreamLifecycle:
    def __init__(
        self,
        *,
        cursors: TrackedCursors,
        lease: DynamoLease,
        recognizer: Recognizer,
        beats: Beats,
        delivery: Delivery,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        settings: WorkerSettings,
    ) -> None:
        self.cursors = cursors
        self._lease = lease
        self._recognizer = recognizer
        self._beats = beats
        self._delivery = delivery
        self._clock = clock
        self._sleep = sleep
        self._settings = settings

    # -- audio in ---------------------------------------------------------------------------
    def feed(self, run: RunState, batch: Batch) -> None:
        self._beats.beat(run)
        if batch.missed_ms > 0:
            self._report_gap(run, batch)
        claimed = self.cursors.last_claim
        cut_from = claimed[0] if claimed else Cursor()
        run.segments.append((batch.start_ms, cut_from))
        stretch = run.stretch or self._open(run, batch.start_ms)
        stretch.stream.send(batch.pcm)
        stretch.last_audio_at = run.last_audio_at = self._clock()
        run.fed_ms = batch.start_ms + batch.duration_ms
        run.progressed = True

    def _report_gap(self, run: RunState, batch: Batch) -> None:
        """Audio was lost before this batch: the talk's timeline jumps. A stream's times
        run on without the jump, so the open stream is closed (its words emitted) and the
        next opens at the batch's place on the timeline."""
        run.missed_ms += batch.missed_ms
        run.untold_gap_ms += batch.missed_ms
        logger.warning(
            "audio lost before this segment; the talk goes on",
            extra={"sessionId": run.session_id, "missedMs": batch.missed_ms, "atMs": batch.start_ms},
        )
        claimed = self.cursors.last_claim
        # This batch is not fed yet, and is being fed now: no rewind behind it.
        self.close(run, resume=claimed[0] if claimed else None, refeed=False)

    def _open(self, run: RunState, offset_ms: int) -> Stretch:
        if run.standby is not None:  # opened while standing by: its silence comes first
            standby, run.standby = run.standby, None
            return self._stretch(run, standby.stream, offset_ms - standby.silence_ms)
        language = LANGUAGES[run.view.source_language]
        for attempt in range(self._settings.start_retries + 1):
            try:
                stream = self._beats.while_beating(
                    run, lambda: self._recognizer.start(language, PCM_SAMPLE_RATE)
                )
                break
            except StreamFailed as error:
                if not error.retryable or attempt == self._settings.start_retries:
                    raise
                self._sleep(0.5 * 2**attempt)  # throttled at start: back off, the audio waits
                self._beats.beat(run)
        return self._stretch(run, stream, offset_ms)

    def _stretch(self, run: RunState, stream: RecognitionStream, offset_ms: int) -> Stretch:
        cutter = UtteranceCutter(
            first_index=run.point.next_index,
            stream_offset_ms=offset_ms,
            skip_until_ms=run.point.emitted_until_ms,
            # A recognizer that ends its results at short pieces itself needs no early cuts.
            early_cuts=not getattr(self._recognizer, "cuts_own_results", False),
        )
        run.stretch = Stretch(stream, cutter, self._clock())
        run.streams += 1
        return run.stretch

    # -- results out ------------------------------------------------------------------------
    def collect(self, run: RunState) -> None:
        if run.stretch is None:
            return
        for result in run.stretch.stream.results():
            self._delivery.emit(run, run.stretch.cutter.feed(result))
        if run.live is not None and run.stretch is not None:
            view = run.view
            running = run.stretch.cutter.running()
            run.live.observe(run.session_id, view.source_language, view.speaker_connection_id, running)

    def close(self, run: RunState, resume: Cursor | None = None, refeed: bool = True) -> bool:
        """Ends the stream and emits everything it still held: afterwards all audio fed
        so far is accounted for, and a successor starts from the current cursor (or
        `resume`, where audio not fed yet starts). False: the stream's last results did
        not all come, and the ingest cursor was rewound to feed their audio again."""
        stretch, run.stretch = run.stretch, None
        if stretch is None:
            return True
        results, complete = self._last_results(run, stretch.stream)
        for result in results:
            self._delivery.emit(run, stretch.cutter.feed(result))
        self._delivery.emit(run, stretch.cutter.flush())
        emitted_until = max(run.point.emitted_until_ms, stretch.cutter.emitted_until_ms)
        # A second cut-off close with no word emitted in between would loop: accept the loss.
        refeed = refeed and not complete and emitted_until != run.refed_from_ms
        if not refeed:
            claimed = self.cursors.last_claim
            current = resume or (claimed[1] if claimed else run.point.resume)
            emitted_until = max(run.point.emitted_until_ms, run.fed_ms)
        else:
            # Results were cut off: the audio after the last emitted word is fed again,
            # from the segment holding it (by this worker's next stream or its successor,
            # whichever reads next); the next cutter drops what was emitted already.
            run.refed_from_ms = emitted_until
            current = self._delivery.resume_for(run, emitted_until)
            if current is not None:
                self.cursors.rewind(run.session_id, current)
        run.point = replace(run.point, emitted_until_ms=emitted_until, resume=current)
        run.segments.clear()
        if not self._lease.checkpoint(run.session_id, run.owner, run.point):
            raise LeaseLost(run.session_id)
        return not refeed

    def _last_results(self, run: RunState, stream: RecognitionStream) -> tuple[list[StreamResult], bool]:
        """The last results can take seconds (a recognizer finishing its queue); a close
        that takes the whole timeout may have cut some off: counted, and said (False)."""
        began = self._clock()
        results = self._beats.while_beating(run, lambda: stream.close(self._settings.close_timeout_s))
        if self._clock() - began < self._settings.close_timeout_s:
            return results, True
        run.close_timeouts += 1
        logger.warning(
            "stream closed at its timeout; its audio after the last result is fed again",
            extra={"sessionId": run.session_id},
        )
        return results, False

    def abandon(self, run: RunState) -> None:
        """Closes the stream at once without emitting anything (the lease is gone or the
        worker cannot go on): no audio stays billed until Transcribe's own timeout."""
        stretch, run.stretch = run.stretch, None
        if stretch is not None:
            try:
                stretch.stream.close(0.0)
            except Exception:  # the stream may be the thing that failed
                logger.warning("stream close after a failure failed", extra={"sessionId": run.session_id})

    def close_if_idle(self, run: RunState) -> None:
        if run.stretch and self._clock() - run.stretch.last_audio_at >= self._settings.idle_close_s:
            logger.info("no audio for a while; stream closed", extra={"sessionId": run.session_id})
            self.close(run)
