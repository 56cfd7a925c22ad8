"""A session's life as its speaker leads it: created, resumed on a new connection,
paused and resumed, suspended while the speaker's connection is gone, and ended (by the
speaker, or by the grace timer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from connection_handler import messages as m
from connection_handler.access import LIVE, OPEN, Part, require_role
from connection_handler.context import Caller, Outgoing
from connection_handler.store import Condition, SessionTaken
from shared import protocol as p
from shared.chunk_events import EndOfStreamEvent
from shared.protocol import ErrorCode, ProtocolError, error_message
from shared.session_ids import new_session_id
from shared.session_record import SessionRecord

_ENDED_WHILE_AWAY = "the session ended while the speaker was away"
StatusMessage = Literal["sessionPaused", "sessionResumed"]


@dataclass(frozen=True, repr=False)
class Lifecycle(Part):
    def create_session(self, caller: Caller, action: m.CreateSession) -> list[Outgoing]:
        require_role(caller, "speaker")
        sources = self.ports.served.sources()
        if action.sourceLanguage not in sources:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"sourceLanguage {action.sourceLanguage!r} cannot be transcribed here; supported: "
                + ", ".join(sources),
            )
        if action.resumeSessionId:
            return self._resume(caller, action.resumeSessionId)
        self._refuse_second_session(caller)
        session_id = self._allocate(caller, action)
        self.ports.connections.bind(caller.connection_id, session_id)
        message = self._created_message(session_id, action.sourceLanguage, action.title or "")
        return [(caller.connection_id, message)]

    def _allocate(self, caller: Caller, action: m.CreateSession) -> str:
        """A new session item under a fresh id (a taken id, however unlikely, draws again)."""
        now, longest = self.ports.clock(), self.ports.limits.session_max_seconds
        for _ in range(10):
            session_id = new_session_id()
            record = SessionRecord(
                session_id=session_id,
                speaker_connection_id=caller.connection_id,
                speaker_user_id=caller.user_id,
                source_language=action.sourceLanguage,
                title=action.title or "",
                status="active",
                created_at_ms=int(now * 1000),
                expires_at=int(now) + longest,
                ttl=int(now) + longest + 3600,
            )
            try:
                self.ports.sessions.create(record)
            except SessionTaken:
                continue
            return session_id
        raise ProtocolError(ErrorCode.INTERNAL_ERROR, "could not allocate a session id; try again")

    def _refuse_second_session(self, caller: Caller) -> None:
        """One connection speaks one session at a time: a second createSession would
        leave the first one live with nobody able to end it."""
        connection = self.ports.connections.get(caller.connection_id)
        current = connection.session_id if connection else ""
        session = self.ports.sessions.get(current) if current else None
        if session and session.status in OPEN:
            raise ProtocolError(
                ErrorCode.SESSION_IN_PROGRESS,
                f"this connection already speaks in session {current}; end it before creating another",
            )

    def _resume(self, caller: Caller, session_id: str) -> list[Outgoing]:
        """A speaker's new connection takes its session over: the planned renewal (the
        old connection is still open) or a reconnect within the grace period."""
        found = self.access.read(session_id)
        if not found or not caller.user_id or found.speaker_user_id != caller.user_id:
            self.access.miss(caller, session_id)  # another speaker's session answers as an unknown one
        session = self.access.live_session(session_id, read=found)
        notes: list[Outgoing] = []
        if session.status == "suspended" and self._grace_over(session):
            # The timer has not fired yet (or was lost): end the session now, and say so.
            ended = self.expire_suspension(session_id, session.suspended_at_ms or 0)
            refusal = error_message(ErrorCode.SESSION_ENDED, _ENDED_WHILE_AWAY, "createSession")
            return [*ended, (caller.connection_id, refusal)]
        if session.status == "suspended":
            session = self._wake(session, caller.connection_id)
            kind: StatusMessage = "sessionResumed" if session.status == "active" else "sessionPaused"
            notes = self.access.to_listeners(session_id, p.session_status(kind, session_id))
        else:
            resumed = self.ports.sessions.transition(
                session_id, Condition(LIVE), {"speaker_connection_id": caller.connection_id}
            )
            if resumed is None:  # suspended or ended meanwhile: decide again on the new state
                return self._resume(caller, session_id)
            session = resumed
        self.ports.connections.bind(caller.connection_id, session_id)
        message = self._created_message(
            session_id,
            session.source_language,
            session.title,
            p.Resumed(status=session.status, last_seq=session.last_seq),
        )
        return [(caller.connection_id, message), *self.access.stats_for_speaker(session), *notes]

    def _wake(self, session: SessionRecord, connection_id: str) -> SessionRecord:
        woken = self.ports.sessions.transition(
            session.session_id,
            Condition(("suspended",), session.suspended_at_ms or 0),
            {"status": session.resume_status, "speaker_connection_id": connection_id},
            remove=("resume_status", "suspended_at_ms"),
        )
        if woken is None:
            raise ProtocolError(ErrorCode.SESSION_ENDED, _ENDED_WHILE_AWAY)
        return woken

    def _created_message(
        self, session_id: str, source: str, title: str, resumed: p.Resumed | None = None
    ) -> dict[str, Any]:
        base = self.ports.listener_base_url
        return p.session_created(
            session_id,
            source,
            title,
            listener_url=f"{base}?session={session_id}" if base else "",
            expires_at=int(self.ports.clock()) + self.ports.limits.session_max_seconds,
            resumed=resumed,
        )

    def pause(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        return self._set_status(caller, action.sessionId, "paused", "sessionPaused")

    def resume(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        return self._set_status(caller, action.sessionId, "active", "sessionResumed")

    def _set_status(
        self, caller: Caller, session_id: str, status: str, message: StatusMessage
    ) -> list[Outgoing]:
        self.access.own_session(caller, session_id)
        if self.ports.sessions.transition(session_id, Condition(LIVE), {"status": status}) is None:
            raise ProtocolError(ErrorCode.SESSION_ENDED, "this session has ended")
        note = p.session_status(message, session_id)
        return [(caller.connection_id, note), *self.access.to_listeners(session_id, note)]

    def end(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        session = self.access.own_session(caller, action.sessionId, allow_expired=True)
        return self._end(session, reason="endedBySpeaker", when=Condition(OPEN), last_sent=action.lastSeq)

    def suspend(self, session: SessionRecord, connection_id: str) -> list[Outgoing]:
        """The speaker's connection dropped without endSession: the talk waits for it."""
        session_id = session.session_id
        now_ms = int(self.ports.clock() * 1000)
        suspended = self.ports.sessions.transition(
            session_id,
            Condition(LIVE),
            {"status": "suspended", "resume_status": session.status, "suspended_at_ms": now_ms},
        )
        if suspended is None or suspended.speaker_connection_id != connection_id:
            return []  # ended, or already taken over by a new connection
        grace = self.ports.limits.speaker_grace_seconds
        self.ports.timers.speaker_grace(session_id, now_ms, grace)
        return self.access.to_listeners(session_id, p.session_suspended(session_id, now_ms // 1000 + grace))

    def expire_suspension(self, session_id: str, suspended_at_ms: int) -> list[Outgoing]:
        """The grace timer: ends the session if its speaker has not come back since."""
        session = self.ports.sessions.get(session_id)
        if not session or session.status != "suspended":
            return []
        if (session.suspended_at_ms or 0) != suspended_at_ms:
            return []  # a later suspension has its own timer
        if not self._grace_over(session):  # a timer never fires early, but a clock may differ
            grace = self.ports.limits.speaker_grace_seconds
            due = suspended_at_ms // 1000 + grace - int(self.ports.clock())
            self.ports.timers.speaker_grace(session_id, suspended_at_ms, max(1, due))
            return []
        return self._end(session, "speakerDisconnected", Condition(("suspended",), suspended_at_ms))

    def _grace_over(self, session: SessionRecord) -> bool:
        deadline = (session.suspended_at_ms or 0) / 1000 + self.ports.limits.speaker_grace_seconds
        return self.ports.clock() >= deadline

    def _end(
        self, session: SessionRecord, reason: str, when: Condition, last_sent: int | None = None
    ) -> list[Outgoing]:
        session_id = session.session_id
        stored = session.last_seq
        # What the speaker says it sent, within the window a chunk may jump ahead.
        claimed = -1 if last_sent is None else min(last_sent, stored + self.ports.limits.max_seq_jump)
        ended = self.ports.sessions.transition(
            session_id,
            when,
            {"status": "ended", "ended_at_ms": int(self.ports.clock() * 1000), "final_seq": claimed},
        )
        if ended is None:
            return []  # ended by someone else, or the speaker came back first
        # The marker makes the pipeline flush the last words of the stream; it waits for
        # every chunk up to finalSeq, also those that arrive after the end.
        final_seq = max(ended.last_seq, claimed)
        self.ports.forward(EndOfStreamEvent(session_id, final_seq).payload())
        note = p.session_ended(session_id, reason)
        out = self.access.to_listeners(session_id, note)
        speaker = ended.speaker_connection_id
        if speaker and reason != "speakerDisconnected":
            out.append((speaker, note))
        return out
