"""What every part of the connection handler's domain shares: who calls (`Caller`), what a
part returns (`Outgoing`), and the ports it is given (`Ports`), so that lifecycle, chunks,
listeners and transcripts are built from the same ones.

Knows nothing of Lambda events: the parts take a Caller and a validated action, and
return the messages to send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from connection_handler.limits import Limits
from connection_handler.store import ConnectionRepository, SessionRepository
from delivery.audience import Audience
from shared.languages import ServedPairs

Outgoing = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Caller:
    connection_id: str
    role: str  # "speaker" or "listener", from the $connect authorizer
    user_id: str = ""
    source_ip: str = ""


class ChunkForwarder(Protocol):
    def __call__(self, payload: dict[str, Any], /) -> None: ...


class TranscriptRequests(Protocol):
    def __call__(self, payload: dict[str, Any], /) -> None:
        """Asks the transcripts function for {sessionId, language, connectionId}; it answers
        that connection."""
        ...


class SessionTimers(Protocol):
    def speaker_grace(self, session_id: str, suspended_at_ms: int, delay_seconds: int) -> None:
        """Calls Lifecycle.expire_suspension(session_id, suspended_at_ms) after the delay."""
        ...

    def listener_stats(self, session_id: str, delay_seconds: int) -> None:
        """Calls Listeners.stats_due(session_id) after the delay."""
        ...


@dataclass
class Ports:
    """The stores, clients and settings of the domain. Not frozen: tests swap a port (the
    served pairs, the transcripts client) on a running gateway, and every part sees it."""

    sessions: SessionRepository
    connections: ConnectionRepository
    audience: Audience
    forward: ChunkForwarder
    timers: SessionTimers
    clock: Callable[[], float]
    listener_base_url: str = ""
    limits: Limits = field(default_factory=Limits)
    served: ServedPairs = field(default_factory=ServedPairs)
    transcripts: TranscriptRequests | None = None  # None: this deployment makes no transcripts
