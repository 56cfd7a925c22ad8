"""The worker watch: a timer per live session that restarts a dead worker when no chunk
comes to do it.

The chunk writer's kick only runs while chunks arrive. A worker that dies after the
last chunk, after the end of the talk, or while its successor should have taken over,
would never be replaced. So each session with audio has one chain of delayed SQS
messages (the session timers' queue), one every `WATCH_PERIOD_S`: each asks the
worker kick, then schedules the next. The chain stops when the worker is done (the
talk flushed) or the session item is gone.

One chain per session: the session item's `workerWatchAt` names the live link (the
time it was scheduled, ms). A message whose `at` is not that value is a duplicate
delivery or a superseded chain and is dropped, so at-least-once delivery never
multiplies chains. The chunk writer starts a chain when it starts a worker, and
checks every `ENSURE_EVERY_CHUNKS` chunks that the chain is alive (one conditional
write): a chain whose last link is three periods overdue (its message was lost, or
went to the dead letters) is started again."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared import resources
from shared.conditional import conditional_update
from shared.session_ids import is_session_id
from shared.session_record import SessionRecord
from shared.worker_kick import WATCH_PERIOD_S, WorkerKick, WorkerLease, read_session

WATCH_KIND = "workerWatch"
WATCH_ATTRIBUTE = SessionRecord.attribute("worker_watch_at_ms")
STALE_AFTER_MS = 3 * WATCH_PERIOD_S * 1000
ENSURE_EVERY_CHUNKS = 32  # ~8 s of a talk


@dataclass(frozen=True)
class WatchMessage:
    session_id: str
    at_ms: int  # when this link was scheduled: the chain's token

    def body(self) -> str:
        return json.dumps({"kind": WATCH_KIND, "sessionId": self.session_id, "at": self.at_ms})

    @classmethod
    def parse(cls, body: str) -> WatchMessage | None:
        """The watch message in `body`, or None if it is some other timer."""
        try:
            raw = json.loads(body)
        except ValueError:
            return None
        if not isinstance(raw, dict) or raw.get("kind") != WATCH_KIND:
            return None
        if not is_session_id(raw.get("sessionId")) or not isinstance(raw.get("at"), int):
            raise ValueError(f"not a worker watch: {body[:80]!r}")
        return cls(str(raw["sessionId"]), int(raw["at"]))


class WatchScheduler(Protocol):
    def __call__(self, message: WatchMessage, delay_seconds: int, /) -> None: ...


@dataclass(frozen=True)
class SqsWatchScheduler:
    sqs: Any
    queue_url: str

    def __call__(self, message: WatchMessage, delay_seconds: int) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=message.body(), DelaySeconds=delay_seconds)


@dataclass(frozen=True)
class WatchOutcome:
    started: int | None = None  # the worker generation the watch started
    next_at_ms: int | None = None  # the next link, if the chain goes on
    dropped: bool = False  # a duplicate or superseded link


@dataclass(frozen=True)
class WorkerWatch:
    sessions_table: Any
    kick: WorkerKick
    schedule: WatchScheduler
    clock: Callable[[], float]

    def ensure(self, session_id: str) -> bool:
        """Starts the session's chain if it has none or its last link is long overdue (its
        message was lost). True if this call started one. One conditional write."""
        now_ms = self._now_ms()
        condition = f"attribute_not_exists({WATCH_ATTRIBUTE}) OR {WATCH_ATTRIBUTE} < :stale"
        if not self._move(session_id, now_ms, condition, {":stale": now_ms - STALE_AFTER_MS}):
            return False
        self.schedule(WatchMessage(session_id, now_ms), WATCH_PERIOD_S)
        return True

    def fire(self, message: WatchMessage) -> WatchOutcome:
        """One link: restart the worker if it died, then schedule the next link."""
        session = read_session(self.sessions_table, message.session_id)
        if session is None or WorkerLease.of(session.worker).done:
            return WatchOutcome()  # the talk is flushed (or gone): the chain ends
        now_ms = self._now_ms()
        if not self._move(message.session_id, now_ms, f"{WATCH_ATTRIBUTE} = :at", {":at": message.at_ms}):
            return WatchOutcome(dropped=True)
        started = self.kick(message.session_id)
        self.schedule(WatchMessage(message.session_id, now_ms), WATCH_PERIOD_S)
        return WatchOutcome(started=started, next_at_ms=now_ms)

    def _move(self, session_id: str, now_ms: int, condition: str, values: dict[str, Any]) -> bool:
        return conditional_update(
            self.sessions_table,
            Key={resources.SESSIONS_PARTITION_KEY: session_id},
            UpdateExpression=f"SET {WATCH_ATTRIBUTE} = :now",
            ConditionExpression=f"attribute_exists({resources.SESSIONS_PARTITION_KEY}) AND ({condition})",
            ExpressionAttributeValues={":now": now_ms, **values},
        )

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)
