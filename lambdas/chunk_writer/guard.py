"""After a chunk (or the end marker) is stored: the session's worker runs, and is watched."""

from __future__ import annotations

from dataclasses import dataclass

from shared.worker_kick import WorkerKick
from shared.worker_watch import ENSURE_EVERY_CHUNKS, WorkerWatch


@dataclass(frozen=True)
class Guarded:
    started: int | None  # the worker generation started, if one was
    watch_started: bool


@dataclass(frozen=True)
class WorkerGuard:
    kick: WorkerKick
    watch: WorkerWatch

    def after_store(self, session_id: str, seq: int | None) -> Guarded:
        """`seq` None: the end marker. The watch chain is checked when a worker starts, at
        the end, and every ENSURE_EVERY_CHUNKS chunks (one conditional write): a chain whose
        message was lost is so started again while the talk goes on."""
        started = self.kick(session_id)
        check = started is not None or seq is None or seq % ENSURE_EVERY_CHUNKS == 0
        return Guarded(started, check and self.watch.ensure(session_id))
