"""Utterances out of the worker: deliver, then checkpoint (docs/ARCHITECTURE.md §6,
"Delivery: deliver, then checkpoint")."""

from __future__ import annotations

import logging
from collections.abc import Callable

from s3_audio_consumer.beats import Beats
from s3_audio_consumer.lease import Checkpoint, DynamoLease
from s3_audio_consumer.planner import Cursor
from s3_audio_consumer.ports import UndeliveredSink, UtteranceSink
from s3_audio_consumer.run_state import HandOffFailed, LeaseLost, RunState, WorkerSettings
from s3_audio_consumer.utterances import Utterance

logger = logging.getLogger(__name__)


class Delivery:
    def __init__(
        self,
        lease: DynamoLease,
        sink: UtteranceSink,
        undelivered: UndeliveredSink,
        beats: Beats,
        sleep: Callable[[float], None],
        settings: WorkerSettings,
    ) -> None:
        self._lease = lease
        self._sink = sink
        self._undelivered = undelivered
        self._beats = beats
        self._sleep = sleep
        self._settings = settings

    def emit(self, run: RunState, utterances: list[Utterance]) -> None:
        """Delivers, then checkpoints: an utterance whose hand-off failed is not behind the
        checkpoint, so the replacement delivers it again. One that was delivered but whose
        checkpoint was lost (the lease moved on) is delivered again under the same index,
        and the processor's ledger drops the second."""
        for emitted in utterances:
            utterance = run.live.settle(emitted) if run.live else emitted
            self._hand_off(run, utterance)
            point = Checkpoint(utterance.index + 1, utterance.end_ms, self.resume_for(run, utterance.end_ms))
            if not self._lease.checkpoint(run.session_id, run.owner, point):
                raise LeaseLost(run.session_id)
            run.point = point
            run.utterances += 1

    def resume_for(self, run: RunState, emitted_until_ms: int) -> Cursor | None:
        """The cursor of the segment holding `emitted_until_ms`: audio from there on may
        hold words not yet emitted."""
        holding = [cursor for start, cursor in run.segments if start <= emitted_until_ms]
        if holding:
            keep = len(holding) - 1
            run.segments = run.segments[keep:]  # older segments can never be needed again
            return holding[-1]
        return run.point.resume

    def _hand_off(self, run: RunState, utterance: Utterance) -> None:
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
                self._beats.beat(run)

    def _keep_undelivered(self, run: RunState, utterance: Utterance, error: Exception) -> None:
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
