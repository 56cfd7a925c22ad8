"""Session timers as delayed SQS messages (the session-timer function receives them).

A delay queue needs no per-session resource and fires within seconds of the delay;
SQS delays are at most 15 minutes, longer waits are chained by re-scheduling."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
SPEAKER_GRACE = "speakerGrace"
LISTENER_STATS = "listenerStats"  # the speaker's counts after a burst of joins


@dataclass(frozen=True)
class TimerMessage:
    kind: str
    session_id: str
    suspended_at_ms: int = 0

    def body(self) -> str:
        return json.dumps(
            {"kind": self.kind, "sessionId": self.session_id, "suspendedAt": self.suspended_at_ms}
        )

    @classmethod
    def parse(cls, body: str) -> TimerMessage:
        raw = json.loads(body)
        if not isinstance(raw, dict) or raw.get("kind") not in (SPEAKER_GRACE, LISTENER_STATS):
            raise ValueError(f"not a session timer: {body[:80]!r}")
        if raw["kind"] == LISTENER_STATS:
            if not isinstance(raw.get("sessionId"), str):
                raise ValueError(f"not a session timer: {body[:80]!r}")
            return cls(LISTENER_STATS, raw["sessionId"])
        suspended_at = raw.get("suspendedAt")
        if not isinstance(raw.get("sessionId"), str) or not isinstance(suspended_at, int):
            raise ValueError(f"not a session timer: {body[:80]!r}")
        return cls(SPEAKER_GRACE, raw["sessionId"], suspended_at)


@dataclass(frozen=True)
class SqsSessionTimers:
    sqs: Any
    queue_url: str

    def speaker_grace(self, session_id: str, suspended_at_ms: int, delay_seconds: int) -> None:
        # A longer wait fires early and is re-scheduled by expire_suspension.
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=TimerMessage(SPEAKER_GRACE, session_id, suspended_at_ms).body(),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )

    def listener_stats(self, session_id: str, delay_seconds: int) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps({"kind": LISTENER_STATS, "sessionId": session_id}),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )
