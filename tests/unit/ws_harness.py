"""Drives connection_handler.lambda_handler with API Gateway-shaped events over moto tables."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from connection_handler import handler, wiring
from connection_handler.context import Ports
from connection_handler.counters import RateCounters
from connection_handler.limits import Limits
from connection_handler.service import SessionService
from connection_handler.store import ConnectionRepository, SessionRepository
from delivery.audience import Audience
from delivery.notifier import Notifier
from local.kit.aws_fakes import FakeManagementApi


class Context:
    function_name = "connection-handler-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:connection-handler-test"
    aws_request_id = "req"


@dataclass
class FakeTimers:
    """Records the grace timers the service schedules; tests fire them by hand."""

    scheduled: list[tuple[str, int, int]] = field(default_factory=list)
    stats: list[tuple[str, int]] = field(default_factory=list)

    def speaker_grace(self, session_id: str, suspended_at_ms: int, delay_seconds: int) -> None:
        self.scheduled.append((session_id, suspended_at_ms, delay_seconds))

    def listener_stats(self, session_id: str, delay_seconds: int) -> None:
        self.stats.append((session_id, delay_seconds))


@dataclass
class Gateway:
    sessions_table: Any
    connections_table: Any
    now: float = 1_800_000_000.0
    limits: Limits = field(default_factory=Limits)
    api: FakeManagementApi = field(default_factory=FakeManagementApi)
    forwarded: list[dict[str, Any]] = field(default_factory=list)
    timers: FakeTimers = field(default_factory=FakeTimers)
    transcript_requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        ports = Ports(
            sessions=SessionRepository(self.sessions_table),
            connections=ConnectionRepository(self.connections_table),
            audience=Audience(self.sessions_table, self.connections_table, lambda: self.now),
            forward=self._forward,
            timers=self.timers,
            clock=lambda: self.now,
            listener_base_url="https://app.example/listener",
            limits=self.limits,
            transcripts=self.transcript_requests.append,
        )
        service = SessionService.build(ports, RateCounters(self.sessions_table))
        self.service = service
        self.runtime = wiring.Runtime(service=service, notifier=Notifier(self.api))
        self.forward_failures = 0

    def _forward(self, payload: dict[str, Any]) -> None:
        if self.forward_failures:
            self.forward_failures -= 1
            raise ConnectionError("the chunk writer could not be invoked")
        self.forwarded.append(payload)

    def _event(self, connection_id: str, event_type: str, route: str, **extra: Any) -> dict[str, Any]:
        return {
            "requestContext": {
                "connectionId": connection_id,
                "eventType": event_type,
                "routeKey": route,
                "domainName": "abc.execute-api.us-east-1.amazonaws.com",
                "stage": "test",
                "identity": {"sourceIp": extra.pop("ip", "198.51.100.7")},
                **({"authorizer": extra.pop("authorizer")} if "authorizer" in extra else {}),
            },
            **extra,
        }

    def call(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler(event, Context(), runtime=self.runtime)
        return result

    def fire_timers(self) -> None:
        """The SQS delay queue delivers every timer that is due to the session-timer function."""
        from connection_handler import timers

        due = [t for t in self.timers.scheduled if t[1] / 1000 + t[2] <= self.now]
        self.timers.scheduled = [t for t in self.timers.scheduled if t not in due]
        records = [
            {
                "messageId": f"m{n}",
                "body": json.dumps({"kind": "speakerGrace", "sessionId": s, "suspendedAt": at}),
            }
            for n, (s, at, _) in enumerate(due)
        ]
        # Trailing listenerStats timers are a second long: every one is due.
        records += [
            {"messageId": f"s{n}", "body": json.dumps({"kind": "listenerStats", "sessionId": s})}
            for n, (s, _) in enumerate(self.timers.stats)
        ]
        self.timers.stats = []
        result = timers.lambda_handler({"Records": records}, Context(), runtime=self.runtime)
        assert result == {"batchItemFailures": []}, result

    def connect(self, connection_id: str, role: str = "listener", query: dict[str, str] | None = None,
                ip: str = "198.51.100.7") -> dict[str, Any]:  # fmt: skip
        authorizer = {"role": role, "userId": "user-1" if role == "speaker" else ""}
        event = self._event(connection_id, "CONNECT", "$connect", authorizer=authorizer, ip=ip)
        event["queryStringParameters"] = query
        return self.call(event)

    def disconnect(self, connection_id: str) -> dict[str, Any]:
        return self.call(self._event(connection_id, "DISCONNECT", "$disconnect"))

    def send(self, connection_id: str, message: dict[str, Any] | str) -> dict[str, Any]:
        body = message if isinstance(message, str) else json.dumps(message)
        route = message.get("action", "$default") if isinstance(message, dict) else "$default"
        return self.call(self._event(connection_id, "MESSAGE", route, body=body))

    def last(self, connection_id: str) -> dict[str, Any]:
        return self.api.to(connection_id)[-1]

    def start_session(self, speaker: str = "spk", language: str = "en") -> str:
        self.connect(speaker, role="speaker")
        self.send(speaker, {"action": "createSession", "sourceLanguage": language, "title": "Keynote"})
        created = self.last(speaker)
        assert created["type"] == "sessionCreated", created
        return str(created["sessionId"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
