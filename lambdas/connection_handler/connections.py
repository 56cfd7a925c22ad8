"""A WebSocket connection's own events: who it is on each message, its record at
$connect (with a listener's join from the query string), and what its $disconnect
leaves behind (a speaker's session waits, a listener's seat is freed)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from connection_handler import messages as m
from connection_handler.access import Part
from connection_handler.context import Caller, Outgoing
from connection_handler.lifecycle import Lifecycle
from connection_handler.listeners import Listeners
from shared import protocol as p
from shared.connection_record import ConnectionRecord
from shared.protocol import ErrorCode, ProtocolError


@dataclass(frozen=True, repr=False)
class Connections(Part):
    lifecycle: Lifecycle
    listeners: Listeners

    def identify(self, claimed: Caller, connecting: bool) -> Caller:
        """Who is calling: at $connect, whom the authorizer says; afterwards, the role given
        at $connect is the one that counts (a message cannot claim another)."""
        if connecting:
            return claimed
        stored = self.ports.connections.get(claimed.connection_id)
        if stored is None:
            return claimed
        return Caller(claimed.connection_id, stored.role, stored.user_id, claimed.source_ip)

    def heartbeat(self, caller: Caller, action: m.Heartbeat) -> list[Outgoing]:
        """Keeps an idle connection open; the answer carries the server's time."""
        return [(caller.connection_id, p.heartbeat(int(self.ports.clock() * 1000)))]

    def refuse(self, caller: Caller) -> None:
        """A refused $connect leaves no record behind (the join may have written one)."""
        self.ports.connections.delete(caller.connection_id)

    def connect(self, caller: Caller, query: dict[str, str]) -> list[Outgoing]:
        now = self.ports.clock()
        join = None
        if caller.role == "listener" and query.get("sessionId") is not None:
            join = _query_join(query)  # refused before anything is written
        self.ports.connections.put(
            ConnectionRecord(
                connection_id=caller.connection_id,
                role=caller.role,
                user_id=caller.user_id,
                source_ip=caller.source_ip,
                connected_at_ms=int(now * 1000),
                ttl=int(now) + self.ports.limits.connection_ttl_seconds,
            )
        )
        return self.listeners.join_session(caller, join) if join else []

    def disconnect(self, caller: Caller) -> list[Outgoing]:
        gone = self.ports.connections.delete(caller.connection_id)
        if gone is None or not gone.session_id:
            return []
        sessions = self.ports.sessions
        if gone.role == "speaker":
            session = sessions.get(gone.session_id)
            if session and session.speaker_connection_id == caller.connection_id:
                return self.lifecycle.suspend(session, caller.connection_id)
            return []
        counts = self.ports.audience.release(gone)
        session = sessions.get(gone.session_id)
        return self.access.stats_for_speaker(session, counts) if session and counts is not None else []


def _query_join(query: dict[str, str]) -> m.JoinSession:
    """The listener's join from the $connect query string, validated like a message."""
    try:
        return m.JoinSession(
            action="joinSession",
            sessionId=query.get("sessionId", ""),
            targetLanguage=query.get("language", ""),
        )
    except ValidationError as error:
        fields = sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]})
        names = {"sessionId": "sessionId", "targetLanguage": "language"}
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            "the query string needs sessionId=<code> and language=<code>; invalid: "
            + ", ".join(names.get(f, f) for f in fields),
        ) from error
