"""The worker's lease beat: proving the worker alive while it works, also through the
calls that may block for seconds (see docs/ARCHITECTURE.md §6, "The lease, sized for AWS")."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from s3_audio_consumer.keyed_chunks import Hints
from s3_audio_consumer.lease import DynamoLease
from s3_audio_consumer.run_state import LeaseLost, RunState, WorkerSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Beats:
    def __init__(
        self,
        lease: DynamoLease,
        hints: Hints,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        settings: WorkerSettings,
    ) -> None:
        self._lease = lease
        self._hints = hints
        self._clock = clock
        self._sleep = sleep
        self._settings = settings

    def ms(self) -> int:
        return int(self._clock() * 1000)

    def beat(self, run: RunState) -> None:
        """Proves the worker alive, at most once a heartbeat period; also between the
        segments of a backlog, so catching up never lets the lease expire. Until the
        first segment reaches a stream, the beat is dated ahead by the start grace."""
        gap = self._clock() - run.beat_at
        if gap < self._settings.heartbeat_s:
            return
        if run.beat_at and gap > 2 * self._settings.heartbeat_s:
            logger.warning("heartbeat late", extra={"sessionId": run.session_id, "gapSeconds": round(gap, 2)})
        beat_ms = self.ms() if run.progressed else self._lease.grace_beat(self.ms())
        view = self._lease.heartbeat(run.session_id, run.owner, beat_ms)
        if view is None:
            raise LeaseLost(run.session_id)
        run.view, run.beat_at = view, self._clock()
        self._hints.last_seq, self._hints.final_seq = view.last_seq, view.final(self._clock())

    def while_beating(self, run: RunState, work: Callable[[], T]) -> T:
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
            self.beat(run)
        if errors:
            raise errors[0]
        return box[0]
