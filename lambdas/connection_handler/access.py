"""Reading a session for a caller, shared by every part of the domain: whose it is and
whether it is live, with one answer for a session that is unknown or not the caller's,
and what the speaker and the listeners are told about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from connection_handler.context import Caller, Outgoing, Ports
from connection_handler.throttle import Throttle
from shared.languages import LANGUAGES, is_target_language
from shared.protocol import ErrorCode, ProtocolError, listener_stats
from shared.session_ids import is_session_id
from shared.session_record import SessionRecord

LIVE = ("active", "paused")  # a speaker is connected and may act
OPEN = (*LIVE, "suspended")  # listeners may join; the talk is not over


def not_found_message(session_id: str) -> str:
    """The same words for a session that is unknown and one the caller may not use."""
    return f"no session {session_id!r} for this connection; check the code"


def require_role(caller: Caller, role: str) -> None:
    if caller.role != role:
        raise ProtocolError(ErrorCode.FORBIDDEN, f"only a {role} may do this")


@dataclass(frozen=True, repr=False)
class SessionAccess:
    ports: Ports
    throttle: Throttle

    def read(self, session_id: str) -> SessionRecord | None:
        return self.ports.sessions.get(session_id) if is_session_id(session_id) else None

    def miss(self, caller: Caller, session_id: str) -> NoReturn:
        """The one answer for a session that is unknown or that the caller may not use, on
        every action; each is counted (Throttle.spend_miss)."""
        self.throttle.spend_miss(caller)
        raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, not_found_message(session_id))

    def live_session(
        self, session_id: str, allow_expired: bool = False, read: SessionRecord | None = None
    ) -> SessionRecord:
        """The session, unless it is unknown, ended or expired. `read`: the item if the
        caller has just read it."""
        session = read or self.read(session_id)
        if not session:
            raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, not_found_message(session_id))
        if session.status == "ended":
            raise ProtocolError(ErrorCode.SESSION_ENDED, "this session has ended")
        if not allow_expired and session.expires_at < self.ports.clock():
            raise ProtocolError(ErrorCode.SESSION_EXPIRED, "this session reached its maximum duration")
        return session

    def own_session(
        self, caller: Caller, session_id: str, allow_expired: bool = False, read: SessionRecord | None = None
    ) -> SessionRecord:
        """The session this connection speaks in. Whose it is is decided before its state:
        another speaker's session, ended or not, answers as an unknown one."""
        require_role(caller, "speaker")
        found = read or self.read(session_id)
        if not found or found.speaker_connection_id != caller.connection_id:
            self.miss(caller, session_id)
        return self.live_session(session_id, allow_expired, found)

    def check_target(self, session: SessionRecord, language: str) -> None:
        if not is_target_language(language):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"language {language!r} is not supported; choose one of {', '.join(LANGUAGES)}",
            )
        source, served = session.source_language, self.ports.served
        if not served.serves(source, language):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"this server cannot translate {source} into {language}; "
                f"choose one of {', '.join(served.targets(source))}",
            )

    def to_listeners(self, session_id: str, note: dict[str, Any]) -> list[Outgoing]:
        return [(c, note) for c, _ in self.ports.connections.listeners(session_id)]

    def stats_for_speaker(
        self, session: SessionRecord, counts: dict[str, int] | None = None
    ) -> list[Outgoing]:
        speaker = session.speaker_connection_id
        if not speaker or session.status not in LIVE:
            return []
        if counts is None:
            counts = self.ports.audience.counts(session.session_id)
        return [(speaker, listener_stats(session.session_id, counts))]


@dataclass(frozen=True, repr=False)
class Part:
    """What each part of the domain (lifecycle, chunks, listeners, ...) is built on."""

    ports: Ports
    access: SessionAccess
    throttle: Throttle
