"""Sessions, listeners and audio chunks: the domain behind every WebSocket route.

Knows nothing of Lambda events: takes a Caller and a validated action, returns the
messages to send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from connection_handler import messages as m
from connection_handler.store import ConnectionRepository, SessionRepository, SessionTaken, as_int
from shared.languages import LANGUAGES, ServedPairs, is_target_language
from shared.protocol import ErrorCode, ProtocolError, listener_stats
from shared.session_ids import is_session_id, new_session_id

Outgoing = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Caller:
    connection_id: str
    role: str  # "speaker" or "listener", from the $connect authorizer
    user_id: str = ""
    source_ip: str = ""


@dataclass(frozen=True)
class Limits:
    max_listeners: int = 500
    joins_per_ip_per_minute: int = 60
    chunks_per_second: int = 10
    session_max_seconds: int = 4 * 3600
    max_seq_jump: int = 200
    connection_ttl_seconds: int = 3 * 3600


class ChunkForwarder(Protocol):
    def __call__(self, payload: dict[str, Any]) -> None: ...


@dataclass
class SessionService:
    sessions: SessionRepository
    connections: ConnectionRepository
    forward: ChunkForwarder
    clock: Callable[[], float]
    listener_base_url: str = ""
    limits: Limits = field(default_factory=Limits)
    served: ServedPairs = field(default_factory=ServedPairs)

    # -- connection lifecycle -------------------------------------------------
    def connect(self, caller: Caller, query: dict[str, str]) -> list[Outgoing]:
        now = self.clock()
        self.connections.put(
            {
                "connectionId": caller.connection_id,
                "role": caller.role,
                "userId": caller.user_id,
                "sourceIp": caller.source_ip,
                "connectedAt": int(now * 1000),
                "ttl": int(now) + self.limits.connection_ttl_seconds,
            }
        )
        if caller.role == "listener" and query.get("sessionId"):
            join = m.JoinSession(
                action="joinSession", sessionId=query["sessionId"], targetLanguage=query.get("language", "")
            )
            return self.join_session(caller, join)
        return []

    def disconnect(self, caller: Caller) -> list[Outgoing]:
        gone = self.connections.delete(caller.connection_id)
        if not gone or "sessionId" not in gone:
            return []
        session = self.sessions.get(str(gone["sessionId"]))
        if not session:
            return []
        if gone.get("role") == "speaker" and session.get("speakerConnectionId") == caller.connection_id:
            if session.get("status") != "ended":
                return self._end(session, reason="speakerDisconnected")
            return []
        return self._stats_for_speaker(session)

    # -- speaker actions ------------------------------------------------------
    def create_session(self, caller: Caller, action: m.CreateSession) -> list[Outgoing]:
        self._require_role(caller, "speaker")
        if action.sourceLanguage not in self.served.sources():
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"sourceLanguage {action.sourceLanguage!r} cannot be transcribed here; supported: "
                + ", ".join(self.served.sources()),
            )
        if action.resumeSessionId:
            return self._resume(caller, action.resumeSessionId)
        now = self.clock()
        for _ in range(10):
            session_id = new_session_id()
            try:
                self.sessions.create(
                    {
                        "sessionId": session_id,
                        "speakerConnectionId": caller.connection_id,
                        "speakerUserId": caller.user_id,
                        "sourceLanguage": action.sourceLanguage,
                        "title": action.title or "",
                        "status": "active",
                        "createdAt": int(now * 1000),
                        "expiresAt": int(now) + self.limits.session_max_seconds,
                        "ttl": int(now) + self.limits.session_max_seconds + 3600,
                    }
                )
                break
            except SessionTaken:
                continue
        else:
            raise ProtocolError(ErrorCode.INTERNAL_ERROR, "could not allocate a session id; try again")
        self.connections.update(caller.connection_id, sessionId=session_id)
        return [
            (
                caller.connection_id,
                self._created_message(session_id, action.sourceLanguage, action.title or ""),
            )
        ]

    def _resume(self, caller: Caller, session_id: str) -> list[Outgoing]:
        session = self._live_session(session_id)
        if session.get("speakerUserId") != caller.user_id:
            raise ProtocolError(
                ErrorCode.NOT_SESSION_SPEAKER, "only the speaker who created it may resume it"
            )
        self.sessions.update(session_id, speakerConnectionId=caller.connection_id)
        self.connections.update(caller.connection_id, sessionId=session_id)
        message = self._created_message(
            session_id, str(session["sourceLanguage"]), str(session.get("title", ""))
        )
        return [(caller.connection_id, {**message, "resumed": True}), *self._stats_for_speaker(session)]

    def _created_message(self, session_id: str, source: str, title: str) -> dict[str, Any]:
        return {
            "type": "sessionCreated",
            "sessionId": session_id,
            "sourceLanguage": source,
            "title": title,
            "listenerUrl": f"{self.listener_base_url}?session={session_id}" if self.listener_base_url else "",
            "expiresAt": int(self.clock()) + self.limits.session_max_seconds,
        }

    def audio_chunk(self, caller: Caller, action: m.AudioChunk) -> list[Outgoing]:
        session = self._own_session(caller, action.sessionId)
        if session.get("status") == "paused":
            raise ProtocolError(
                ErrorCode.BROADCAST_PAUSED, "the broadcast is paused; resume it to send audio"
            )
        last = as_int(session.get("lastSeq"), -1)
        if action.seq > last + self.limits.max_seq_jump:
            raise ProtocolError(
                ErrorCode.SEQ_OUT_OF_RANGE,
                f"seq {action.seq} jumps too far ahead of {last}; seq counts from 0",
            )
        if action.seq == 0 and not action.data.startswith("GkXfo"):  # base64 of the EBML magic
            raise ProtocolError(ErrorCode.INVALID_AUDIO, "chunk 0 must be the start of a WebM stream")
        verdict = self.sessions.accept_chunk(
            action.sessionId, action.seq, int(self.clock()), self.limits.chunks_per_second
        )
        if verdict == "duplicate":
            return []  # already stored: a retry after a reconnect
        if verdict == "rate_limited":
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, f"more than {self.limits.chunks_per_second} audio chunks per second"
            )
        self.forward({"sessionId": action.sessionId, "seq": action.seq, "data": action.data})
        return []

    def pause(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        return self._set_status(caller, action.sessionId, "paused", "sessionPaused")

    def resume(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        return self._set_status(caller, action.sessionId, "active", "sessionResumed")

    def end(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        session = self._own_session(caller, action.sessionId, allow_expired=True)
        return self._end(session, reason="endedBySpeaker")

    def _set_status(self, caller: Caller, session_id: str, status: str, message: str) -> list[Outgoing]:
        self._own_session(caller, session_id)
        self.sessions.update(session_id, status=status)
        note = {"type": message, "sessionId": session_id}
        return [(caller.connection_id, note), *((c, note) for c, _ in self.connections.listeners(session_id))]

    def _end(self, session: dict[str, Any], reason: str) -> list[Outgoing]:
        session_id = str(session["sessionId"])
        self.sessions.update(session_id, status="ended", endedAt=int(self.clock() * 1000))
        # The marker makes the consumer flush the last words of the stream.
        self.forward(
            {"sessionId": session_id, "endOfStream": True, "finalSeq": as_int(session.get("lastSeq"), -1)}
        )
        note = {"type": "sessionEnded", "sessionId": session_id, "reason": reason}
        out: list[Outgoing] = [(c, note) for c, _ in self.connections.listeners(session_id)]
        speaker = session.get("speakerConnectionId")
        if speaker and reason != "speakerDisconnected":
            out.append((str(speaker), note))
        return out

    # -- listener actions -----------------------------------------------------
    def join_session(self, caller: Caller, action: m.JoinSession) -> list[Outgoing]:
        self._require_role(caller, "listener")
        now = self.clock()
        minute = int(now // 60)
        if (
            self.sessions.count_join(caller.source_ip, minute, int(now) + 120)
            > self.limits.joins_per_ip_per_minute
        ):
            raise ProtocolError(ErrorCode.RATE_LIMITED, "too many joins from this address; wait a minute")
        session = self._live_session(action.sessionId)
        self._check_target(session, action.targetLanguage)
        if len(self.connections.listeners(action.sessionId)) >= self.limits.max_listeners:
            raise ProtocolError(
                ErrorCode.SESSION_FULL, f"this session has its {self.limits.max_listeners} listeners"
            )
        self.connections.update(
            caller.connection_id, sessionId=action.sessionId, targetLanguage=action.targetLanguage
        )
        return [
            (caller.connection_id, self._joined(session, action.targetLanguage)),
            *self._stats_for_speaker(session),
        ]

    def switch_language(self, caller: Caller, action: m.SwitchLanguage) -> list[Outgoing]:
        self._require_role(caller, "listener")
        connection = self.connections.get(caller.connection_id) or {}
        if "sessionId" not in connection:
            raise ProtocolError(ErrorCode.NOT_JOINED, "join a session before switching language")
        session = self._live_session(str(connection["sessionId"]))
        self._check_target(session, action.targetLanguage)
        self.connections.update(caller.connection_id, targetLanguage=action.targetLanguage)
        return [
            (caller.connection_id, self._joined(session, action.targetLanguage)),
            *self._stats_for_speaker(session),
        ]

    def heartbeat(self, caller: Caller, action: m.Heartbeat) -> list[Outgoing]:
        return [(caller.connection_id, {"type": "heartbeat", "serverTime": int(self.clock() * 1000)})]

    # -- helpers --------------------------------------------------------------
    def _joined(self, session: dict[str, Any], language: str) -> dict[str, Any]:
        return {
            "type": "sessionJoined",
            "sessionId": session["sessionId"],
            "targetLanguage": language,
            "sourceLanguage": session["sourceLanguage"],
            "title": session.get("title", ""),
            "status": session.get("status", "active"),
        }

    def _stats_for_speaker(self, session: dict[str, Any]) -> list[Outgoing]:
        speaker = session.get("speakerConnectionId")
        if not speaker or session.get("status") == "ended":
            return []
        session_id = str(session["sessionId"])
        return [(str(speaker), listener_stats(session_id, self.connections.counts(session_id)))]

    def _require_role(self, caller: Caller, role: str) -> None:
        if caller.role != role:
            raise ProtocolError(ErrorCode.FORBIDDEN, f"only a {role} may do this")

    def _check_target(self, session: dict[str, Any], language: str) -> None:
        if not is_target_language(language):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"language {language!r} is not supported; choose one of {', '.join(LANGUAGES)}",
            )
        source = str(session.get("sourceLanguage", ""))
        if not self.served.serves(source, language):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"this server cannot translate {source} into {language}; "
                f"choose one of {', '.join(self.served.targets(source))}",
            )

    def _live_session(self, session_id: str, allow_expired: bool = False) -> dict[str, Any]:
        session = self.sessions.get(session_id) if is_session_id(session_id) else None
        if not session:
            raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, f"no session {session_id!r}; check the code")
        if session.get("status") == "ended":
            raise ProtocolError(ErrorCode.SESSION_ENDED, "this session has ended")
        if not allow_expired and as_int(session.get("expiresAt"), 0) < self.clock():
            raise ProtocolError(ErrorCode.SESSION_EXPIRED, "this session reached its maximum duration")
        return session

    def _own_session(self, caller: Caller, session_id: str, allow_expired: bool = False) -> dict[str, Any]:
        self._require_role(caller, "speaker")
        session = self._live_session(session_id, allow_expired)
        if session.get("speakerConnectionId") != caller.connection_id:
            raise ProtocolError(ErrorCode.NOT_SESSION_SPEAKER, "this connection is not the session's speaker")
        return session
