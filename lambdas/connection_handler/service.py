"""Sessions, listeners and audio chunks: the domain behind every WebSocket route.

Knows nothing of Lambda events: takes a Caller and a validated action, returns the
messages to send."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, Protocol

from pydantic import ValidationError

from connection_handler import messages as m
from connection_handler.store import (
    Allowance,
    Condition,
    ConnectionRepository,
    RejoinSeat,
    SessionRepository,
    SessionTaken,
)
from shared import protocol as p
from shared import resources
from shared.audience import Audience, NotConnected, SessionFull
from shared.chunk_events import ChunkEvent, EndOfStreamEvent
from shared.languages import LANGUAGES, ServedPairs, is_target_language
from shared.protocol import ErrorCode, ProtocolError, error_message, listener_stats
from shared.session_ids import is_session_id, new_session_id
from shared.session_record import SessionRecord
from shared.transcript_records import TranscriptRequest

_ENDED_WHILE_AWAY = "the session ended while the speaker was away"
LIVE = ("active", "paused")  # a speaker is connected and may act
OPEN = (*LIVE, "suspended")  # listeners may join; the talk is not over
STATS_TRAILING_SECONDS = 1  # a burst of joins is summed up for the speaker this much later

Outgoing = tuple[str, dict[str, Any]]
TOO_MANY_MISSES = "too many codes that name no session you may use; wait a minute"


def not_found_message(session_id: str) -> str:
    """The same words for a session that is unknown and one the caller may not use."""
    return f"no session {session_id!r} for this connection; check the code"


@dataclass(frozen=True)
class Caller:
    connection_id: str
    role: str  # "speaker" or "listener", from the $connect authorizer
    user_id: str = ""
    source_ip: str = ""


@dataclass(frozen=True)
class Limits:
    max_listeners: int = 5000
    # A venue puts thousands of listeners behind one public address: the per-address
    # ceiling only stops floods; the per-session rate paces a join storm (API Gateway
    # opens ~500 connections a second by default: a storm that size passes).
    joins_per_ip_per_minute: int = 6000
    joins_per_session_per_second: int = 1000
    # Misses: a session code that is unknown, or names a session the caller may not use,
    # on any action. Guessing codes is what these stop. A connection is stopped first; its
    # address only after many phones' worth of misses, so one attendee cannot lock a
    # venue out (and a rejoin token is honoured before either).
    misses_per_connection_per_minute: int = 10
    misses_per_ip_per_minute: int = 120
    chunks_per_second: int = 20  # MediaRecorder sends ~4/s; the rest is catch-up after a reconnect
    session_max_seconds: int = resources.SESSION_MAX_SECONDS
    # How far past the highest stored chunk a seq may be: what the speaker app may resend
    # after a reconnect (600 unsent + 240 kept, speaker-app/src/chunks.ts), so an outage as
    # long as the grace period is resent whole (tests/unit/test_worker_limits.py).
    max_seq_jump: int = 840
    connection_ttl_seconds: int = resources.CONNECTION_TTL_SECONDS
    speaker_grace_seconds: int = 120
    # Each transcript request may build the files from every utterance so far (the
    # transcripts function reuses a build for TRANSCRIPT_REUSE_SECONDS, or while no new
    # utterance arrived): per connection (a speaker asks once per language), per address
    # and per session, so that no crowd and no script can keep the function busy.
    transcripts_per_connection_per_minute: int = 6
    transcripts_per_ip_per_minute: int = 600
    transcripts_per_session_per_minute: int = 600


class ChunkForwarder(Protocol):
    def __call__(self, payload: dict[str, Any], /) -> None: ...


class TranscriptRequests(Protocol):
    def __call__(self, payload: dict[str, Any], /) -> None:
        """Asks the transcripts function for {sessionId, language, connectionId}; it answers
        that connection."""
        ...


class SessionTimers(Protocol):
    def speaker_grace(self, session_id: str, suspended_at_ms: int, delay_seconds: int) -> None:
        """Calls SessionService.expire_suspension(session_id, suspended_at_ms) after the delay."""
        ...

    def listener_stats(self, session_id: str, delay_seconds: int) -> None:
        """Calls SessionService.stats_due(session_id) after the delay."""
        ...


@dataclass
class SessionService:
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

    # -- connection lifecycle -------------------------------------------------
    def identify(self, claimed: Caller, connecting: bool) -> Caller:
        """Who is calling: at $connect, whom the authorizer says; afterwards, the role given
        at $connect is the one that counts (a message cannot claim another)."""
        if connecting:
            return claimed
        stored = self.connections.get(claimed.connection_id)
        if not stored:
            return claimed
        return Caller(
            claimed.connection_id, str(stored.get("role")), str(stored.get("userId", "")), claimed.source_ip
        )

    def refuse_connection(self, caller: Caller) -> None:
        """A refused $connect leaves no record behind (the join may have written one)."""
        self.connections.delete(caller.connection_id)

    def connect(self, caller: Caller, query: dict[str, str]) -> list[Outgoing]:
        now = self.clock()
        join = None
        if caller.role == "listener" and query.get("sessionId") is not None:
            join = _query_join(query)  # refused before anything is written
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
        return self.join_session(caller, join) if join else []

    def disconnect(self, caller: Caller) -> list[Outgoing]:
        gone = self.connections.delete(caller.connection_id)
        if not gone or "sessionId" not in gone:
            return []
        session_id = str(gone["sessionId"])
        if gone.get("role") == "speaker":
            session = self.sessions.get(session_id)
            if session and session.speaker_connection_id == caller.connection_id:
                return self._suspend(session, caller.connection_id)
            return []
        counts = self.audience.release(gone)
        session = self.sessions.get(session_id)
        return self._stats_for_speaker(session, counts) if session and counts is not None else []

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
        self._refuse_second_session(caller)
        now = self.clock()
        for _ in range(10):
            session_id = new_session_id()
            try:
                self.sessions.create(
                    SessionRecord(
                        session_id=session_id,
                        speaker_connection_id=caller.connection_id,
                        speaker_user_id=caller.user_id,
                        source_language=action.sourceLanguage,
                        title=action.title or "",
                        status="active",
                        created_at_ms=int(now * 1000),
                        expires_at=int(now) + self.limits.session_max_seconds,
                        ttl=int(now) + self.limits.session_max_seconds + 3600,
                    )
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

    def _refuse_second_session(self, caller: Caller) -> None:
        """One connection speaks one session at a time: a second createSession would
        leave the first one live with nobody able to end it."""
        current = (self.connections.get(caller.connection_id) or {}).get("sessionId")
        session = self.sessions.get(str(current)) if current else None
        if session and session.status in OPEN:
            raise ProtocolError(
                ErrorCode.SESSION_IN_PROGRESS,
                f"this connection already speaks in session {current}; end it before creating another",
            )

    def _resume(self, caller: Caller, session_id: str) -> list[Outgoing]:
        """A speaker's new connection takes its session over: the planned renewal (the
        old connection is still open) or a reconnect within the grace period."""
        found = self._read(session_id)
        if not found or not caller.user_id or found.speaker_user_id != caller.user_id:
            self._miss(caller, session_id)  # another speaker's session answers as an unknown one
        session = self._live_session(session_id, read=found)
        notes: list[Outgoing] = []
        if session.status == "suspended" and self._grace_over(session):
            # The timer has not fired yet (or was lost): end the session now, and say so.
            ended = self.expire_suspension(session_id, session.suspended_at_ms or 0)
            refusal = error_message(ErrorCode.SESSION_ENDED, _ENDED_WHILE_AWAY, "createSession")
            return [*ended, (caller.connection_id, refusal)]
        if session.status == "suspended":
            session = self._wake(session, caller.connection_id)
            kind: Literal["sessionPaused", "sessionResumed"] = (
                "sessionResumed" if session.status == "active" else "sessionPaused"
            )
            notes = self._to_listeners(session_id, p.session_status(kind, session_id))
        else:
            resumed = self.sessions.transition(
                session_id, Condition(LIVE), {"speaker_connection_id": caller.connection_id}
            )
            if resumed is None:  # suspended or ended meanwhile: decide again on the new state
                return self._resume(caller, session_id)
            session = resumed
        self.connections.update(caller.connection_id, sessionId=session_id)
        message = self._created_message(
            session_id,
            session.source_language,
            session.title,
            p.Resumed(status=session.status, last_seq=session.last_seq),
        )
        return [(caller.connection_id, message), *self._stats_for_speaker(session), *notes]

    def _wake(self, session: SessionRecord, connection_id: str) -> SessionRecord:
        woken = self.sessions.transition(
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
        return p.session_created(
            session_id,
            source,
            title,
            listener_url=f"{self.listener_base_url}?session={session_id}" if self.listener_base_url else "",
            expires_at=int(self.clock()) + self.limits.session_max_seconds,
            resumed=resumed,
        )

    def audio_chunk(self, caller: Caller, action: m.AudioChunk) -> list[Outgoing]:
        """Any seq within the window is taken, in any order: on AWS each message is its
        own invocation, so chunk N+1 can overtake N. Storing is by key and idempotent,
        so a resend of a stored chunk (after a reconnect, or an error reply) changes
        nothing; the pipeline reads chunks in seq order and waits for missing ones. A
        chunk the speaker sent before endSession (seq <= the end's finalSeq) is still taken
        when the end overtook it."""
        session = self._chunk_session(caller, action)
        if session.status == "paused":
            raise ProtocolError(
                ErrorCode.BROADCAST_PAUSED, "the broadcast is paused; resume it to send audio"
            )
        highest = session.last_seq
        if action.seq > highest + self.limits.max_seq_jump:
            raise ProtocolError(
                ErrorCode.SEQ_OUT_OF_RANGE,
                f"seq {action.seq} jumps too far ahead of {highest}; seq counts from 0",
            )
        if action.seq == 0 and not action.data.startswith("GkXfo"):  # base64 of the EBML magic
            raise ProtocolError(ErrorCode.INVALID_AUDIO, "chunk 0 must be the start of a WebM stream")
        second = int(self.clock())
        if (
            self.sessions.count(f"chunk#{action.sessionId}#{second}", second + 60)
            > self.limits.chunks_per_second
        ):
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"more than {self.limits.chunks_per_second} audio chunks per second; resend this one",
            )
        self.sessions.raise_high_water(action.sessionId, action.seq)
        self.forward(ChunkEvent(action.sessionId, action.seq, action.data).payload())
        return []

    def pause(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        return self._set_status(caller, action.sessionId, "paused", "sessionPaused")

    def resume(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        return self._set_status(caller, action.sessionId, "active", "sessionResumed")

    def _chunk_session(self, caller: Caller, action: m.AudioChunk) -> SessionRecord:
        """The speaker's live session; or the ended one, when this chunk is one the speaker
        sent before ending it. One read decides both, so an end that lands between two
        reads cannot refuse a chunk it announced."""
        session = self._read(action.sessionId)
        if (
            session
            and session.status == "ended"
            and caller.role == "speaker"
            and session.speaker_connection_id == caller.connection_id
            and action.seq <= max(session.final_seq, session.last_seq)
        ):
            return session
        return self._own_session(caller, action.sessionId, read=session)

    def end(self, caller: Caller, action: m.SessionControl) -> list[Outgoing]:
        session = self._own_session(caller, action.sessionId, allow_expired=True)
        return self._end(session, reason="endedBySpeaker", when=Condition(OPEN), last_sent=action.lastSeq)

    def _set_status(
        self,
        caller: Caller,
        session_id: str,
        status: str,
        message: Literal["sessionPaused", "sessionResumed"],
    ) -> list[Outgoing]:
        self._own_session(caller, session_id)
        if self.sessions.transition(session_id, Condition(LIVE), {"status": status}) is None:
            raise ProtocolError(ErrorCode.SESSION_ENDED, "this session has ended")
        note = p.session_status(message, session_id)
        return [(caller.connection_id, note), *self._to_listeners(session_id, note)]

    def _suspend(self, session: SessionRecord, connection_id: str) -> list[Outgoing]:
        """The speaker's connection dropped without endSession: the talk waits for it."""
        session_id = session.session_id
        now_ms = int(self.clock() * 1000)
        suspended = self.sessions.transition(
            session_id,
            Condition(LIVE),
            {"status": "suspended", "resume_status": session.status, "suspended_at_ms": now_ms},
        )
        if suspended is None or suspended.speaker_connection_id != connection_id:
            return []  # ended, or already taken over by a new connection
        grace = self.limits.speaker_grace_seconds
        self.timers.speaker_grace(session_id, now_ms, grace)
        return self._to_listeners(session_id, p.session_suspended(session_id, now_ms // 1000 + grace))

    def expire_suspension(self, session_id: str, suspended_at_ms: int) -> list[Outgoing]:
        """The grace timer: ends the session if its speaker has not come back since."""
        session = self.sessions.get(session_id)
        if not session or session.status != "suspended":
            return []
        if (session.suspended_at_ms or 0) != suspended_at_ms:
            return []  # a later suspension has its own timer
        if not self._grace_over(session):  # a timer never fires early, but a clock may differ
            due = suspended_at_ms // 1000 + self.limits.speaker_grace_seconds - int(self.clock())
            self.timers.speaker_grace(session_id, suspended_at_ms, max(1, due))
            return []
        return self._end(session, "speakerDisconnected", Condition(("suspended",), suspended_at_ms))

    def _grace_over(self, session: SessionRecord) -> bool:
        deadline = (session.suspended_at_ms or 0) / 1000 + self.limits.speaker_grace_seconds
        return self.clock() >= deadline

    def _end(
        self, session: SessionRecord, reason: str, when: Condition, last_sent: int | None = None
    ) -> list[Outgoing]:
        session_id = session.session_id
        stored = session.last_seq
        # What the speaker says it sent, within the window a chunk may jump ahead.
        claimed = -1 if last_sent is None else min(last_sent, stored + self.limits.max_seq_jump)
        ended = self.sessions.transition(
            session_id,
            when,
            {"status": "ended", "ended_at_ms": int(self.clock() * 1000), "final_seq": claimed},
        )
        if ended is None:
            return []  # ended by someone else, or the speaker came back first
        # The marker makes the pipeline flush the last words of the stream; it waits for
        # every chunk up to finalSeq, also those that arrive after the end.
        final_seq = max(ended.last_seq, claimed)
        self.forward(EndOfStreamEvent(session_id, final_seq).payload())
        note = p.session_ended(session_id, reason)
        out = self._to_listeners(session_id, note)
        speaker = ended.speaker_connection_id
        if speaker and reason != "speakerDisconnected":
            out.append((speaker, note))
        return out

    # -- listener actions -----------------------------------------------------
    def join_session(self, caller: Caller, action: m.JoinSession) -> list[Outgoing]:
        """A valid rejoin token is redeemed first: it moves its connection's seat here, and
        no join limit or miss block applies to it. Any other join is a new listener."""
        self._require_role(caller, "listener")
        now = int(self.clock())
        moved = self._redeem(action, now)
        if moved is None:
            self._refuse_if_blocked(caller)
        found = self._read(action.sessionId)
        if found is None:
            self._miss(caller, action.sessionId)
        session = self._live_session(action.sessionId, read=found)
        self._check_target(session, action.targetLanguage)
        # Reconnects after a venue's Wi-Fi drops come all at once: they are counted (for
        # the speaker's stats below) but never refused.
        joins_this_second = self.sessions.count(f"join-session#{action.sessionId}#{now}", now + 60)
        if moved is None:
            self._admit_rate(caller, now, joins_this_second)
        counts = self._seat(caller, action, moved)
        if counts is None:
            return []  # the connection closed while it joined: nobody to answer
        token = self._issue_rejoin(caller.connection_id, action.sessionId, now)
        if token is None:
            return []
        return [
            (caller.connection_id, self._joined(session, action.targetLanguage, rejoin_token=token)),
            *self._stats_after_join(session, counts, joins_this_second),
        ]

    def _redeem(self, action: m.JoinSession, now: int) -> RejoinSeat | None:
        if not action.rejoinToken:
            return None
        return self.sessions.redeem_rejoin(action.rejoinToken, action.sessionId, now)

    def _seat(self, caller: Caller, action: m.JoinSession, moved: RejoinSeat | None) -> dict[str, int] | None:
        """Seats the caller; None when its connection closed meanwhile. A redeemed token moves
        the seat its connection holds here (past the cap: the seat is not a new one) and that
        connection loses it; when that connection holds none any more (it closed, and its
        seat was freed), the join is seated within the cap like any other."""
        old = moved.connection_id if moved else ""
        moving = bool(old) and (old == caller.connection_id or self.audience.seated(old, action.sessionId))
        cap = None if moving else self.limits.max_listeners
        try:
            counts = self.audience.admit(caller.connection_id, action.sessionId, action.targetLanguage, cap)
        except SessionFull as error:
            raise ProtocolError(
                ErrorCode.SESSION_FULL, f"this session has its {self.limits.max_listeners} listeners"
            ) from error
        except NotConnected:
            return None
        if moving and old != caller.connection_id:
            counts = self.audience.vacate(old, action.sessionId) or counts
        return counts

    def _issue_rejoin(self, connection_id: str, session_id: str, now: int) -> str | None:
        """A token for this connection's seat; the one it held before is revoked (one live
        token per connection). None when the connection closed meanwhile."""
        token = secrets.token_urlsafe(18)
        self.sessions.issue_rejoin(
            token, RejoinSeat(session_id, connection_id), now + self.limits.connection_ttl_seconds
        )
        try:
            previous = self.connections.swap_rejoin_token(connection_id, token)
        except NotConnected:
            self.sessions.revoke_rejoin(token)
            return None
        if previous:
            self.sessions.revoke_rejoin(previous)
        return token

    def _stats_after_join(
        self, session: SessionRecord, counts: dict[str, int], joins_this_second: int
    ) -> list[Outgoing]:
        """At most one listenerStats a second from joins: the first join of each second
        sends it, the second schedules a trailing one (the counts after the burst). A
        storm of 500 joins a second costs the speaker two messages, not 500."""
        if joins_this_second == 1:
            return self._stats_for_speaker(session, counts)
        if joins_this_second == 2:
            self.timers.listener_stats(session.session_id, STATS_TRAILING_SECONDS)
        return []

    def stats_due(self, session_id: str) -> list[Outgoing]:
        """The trailing listenerStats timer: the session's counts now."""
        session = self.sessions.get(session_id)
        return self._stats_for_speaker(session) if session else []

    def _admit_rate(self, caller: Caller, now: int, joins_this_second: int) -> None:
        if (
            self.sessions.count(f"join-ip#{caller.source_ip}#{now // 60}", now + 120)
            > self.limits.joins_per_ip_per_minute
        ):
            raise ProtocolError(ErrorCode.RATE_LIMITED, "too many joins from this address; wait a minute")
        if joins_this_second > self.limits.joins_per_session_per_second:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "many listeners are joining right now; try again in a second"
            )

    def switch_language(self, caller: Caller, action: m.SwitchLanguage) -> list[Outgoing]:
        self._require_role(caller, "listener")
        connection = self.connections.get(caller.connection_id) or {}
        if "sessionId" not in connection:
            raise ProtocolError(ErrorCode.NOT_JOINED, "join a session before switching language")
        session = self._live_session(str(connection["sessionId"]))
        self._check_target(session, action.targetLanguage)
        try:
            counts = self.audience.switch(caller.connection_id, session.session_id, action.targetLanguage)
        except NotConnected as error:
            raise ProtocolError(ErrorCode.NOT_JOINED, "join a session before switching language") from error
        return [
            (caller.connection_id, self._joined(session, action.targetLanguage)),
            *self._stats_for_speaker(session, counts),
        ]

    def get_transcript(self, caller: Caller, action: m.GetTranscript) -> list[Outgoing]:
        """The speaker may have any language of their session (during it and after its
        end); a listener only the language they listen to, of the session they joined.
        The transcripts function answers the caller with `transcriptReady`."""
        if caller.role == "speaker":
            session = self._read(action.sessionId)
            if not session or not caller.user_id or session.speaker_user_id != caller.user_id:
                self._miss(caller, action.sessionId)
            if not self.served.serves(session.source_language, action.language):  # a source serves itself
                raise ProtocolError(
                    ErrorCode.UNSUPPORTED_LANGUAGE, f"this session has no {action.language!r} transcript"
                )
        else:
            connection = self.connections.get(caller.connection_id) or {}
            if connection.get("sessionId") != action.sessionId:
                self._miss(caller, action.sessionId)  # the caller's own binding, before any read
            if connection.get("targetLanguage") != action.language:
                raise ProtocolError(
                    ErrorCode.FORBIDDEN, "a listener has the transcript of their own language"
                )
        if self.transcripts is None:
            raise ProtocolError(ErrorCode.INTERNAL_ERROR, "transcripts are not available on this server")
        self._spend_transcript(caller, action.sessionId)
        self.transcripts(
            TranscriptRequest(
                session_id=action.sessionId, language=action.language, connection_id=caller.connection_id
            ).payload()
        )
        return []

    def _spend_transcript(self, caller: Caller, session_id: str) -> None:
        """Each request may read every record of the session: per connection first (so one
        connection cannot spend the others' share), then per address and per session."""
        limits, now = self.limits, int(self.clock())
        for allowance, whose in (
            (
                Allowance(
                    f"transcript-connection#{caller.connection_id}",
                    limits.transcripts_per_connection_per_minute,
                ),
                "this connection",
            ),
            (
                Allowance(f"transcript-ip#{caller.source_ip}", limits.transcripts_per_ip_per_minute),
                "this address",
            ),
            (
                Allowance(f"transcript-session#{session_id}", limits.transcripts_per_session_per_minute),
                "this session",
            ),
        ):
            if not self.sessions.spend(allowance, now):
                raise ProtocolError(
                    ErrorCode.RATE_LIMITED, f"too many transcript requests from {whose}; wait a minute"
                )

    def heartbeat(self, caller: Caller, action: m.Heartbeat) -> list[Outgoing]:
        return [(caller.connection_id, p.heartbeat(int(self.clock() * 1000)))]

    def forget(self, connection_ids: list[str]) -> list[Outgoing]:
        """API Gateway answered 410 for these connections: listeners whose $disconnect was
        lost are removed (each session's counters in one write) and their speakers told;
        a joining listener or a speaker is kept."""
        seats = self.audience.remove_stale_many(connection_ids)
        out: list[Outgoing] = []
        for session_id in sorted({seat.session_id for seat in seats.values()}):
            out.extend(self.stats_due(session_id))
        return out

    # -- helpers --------------------------------------------------------------
    def _joined(
        self, session: SessionRecord, language: str, rejoin_token: str | None = None
    ) -> dict[str, Any]:
        source = session.source_language
        return p.session_joined(
            session.session_id,
            language,
            source,
            session.title,
            session.status,
            languages=self.served.targets(source),
            rejoin_token=rejoin_token,
        )

    def _to_listeners(self, session_id: str, note: dict[str, Any]) -> list[Outgoing]:
        return [(c, note) for c, _ in self.connections.listeners(session_id)]

    def _stats_for_speaker(
        self, session: SessionRecord, counts: dict[str, int] | None = None
    ) -> list[Outgoing]:
        speaker = session.speaker_connection_id
        if not speaker or session.status not in LIVE:
            return []
        if counts is None:
            counts = self.audience.counts(session.session_id)
        return [(speaker, listener_stats(session.session_id, counts))]

    def _require_role(self, caller: Caller, role: str) -> None:
        if caller.role != role:
            raise ProtocolError(ErrorCode.FORBIDDEN, f"only a {role} may do this")

    def _check_target(self, session: SessionRecord, language: str) -> None:
        if not is_target_language(language):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"language {language!r} is not supported; choose one of {', '.join(LANGUAGES)}",
            )
        source = session.source_language
        if not self.served.serves(source, language):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"this server cannot translate {source} into {language}; "
                f"choose one of {', '.join(self.served.targets(source))}",
            )

    def _read(self, session_id: str) -> SessionRecord | None:
        return self.sessions.get(session_id) if is_session_id(session_id) else None

    def _miss_allowances(self, caller: Caller) -> tuple[Allowance, Allowance]:
        return (
            Allowance(
                f"miss-connection#{caller.connection_id}", self.limits.misses_per_connection_per_minute
            ),
            Allowance(f"miss-ip#{caller.source_ip}", self.limits.misses_per_ip_per_minute),
        )

    def _refuse_if_blocked(self, caller: Caller) -> None:
        """Before a join looks a code up: a connection or address out of misses learns nothing."""
        now = int(self.clock())
        if any(self.sessions.spent(allowance, now) for allowance in self._miss_allowances(caller)):
            raise ProtocolError(ErrorCode.RATE_LIMITED, TOO_MANY_MISSES)

    def _miss(self, caller: Caller, session_id: str) -> NoReturn:
        """The one answer for a session that is unknown or that the caller may not use, on
        every action. Each is counted, in one conditional write per counter, against the
        connection and then the address: a connection out of misses spends no more of its
        address's; past either limit the answer is RATE_LIMITED."""
        now = int(self.clock())
        for allowance in self._miss_allowances(caller):
            if not self.sessions.spend(allowance, now):
                raise ProtocolError(ErrorCode.RATE_LIMITED, TOO_MANY_MISSES)
        raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, not_found_message(session_id))

    def _live_session(
        self, session_id: str, allow_expired: bool = False, read: SessionRecord | None = None
    ) -> SessionRecord:
        """The session, unless it is unknown, ended or expired. `read`: the item if the
        caller has just read it."""
        session = read or self._read(session_id)
        if not session:
            raise ProtocolError(ErrorCode.SESSION_NOT_FOUND, not_found_message(session_id))
        if session.status == "ended":
            raise ProtocolError(ErrorCode.SESSION_ENDED, "this session has ended")
        if not allow_expired and session.expires_at < self.clock():
            raise ProtocolError(ErrorCode.SESSION_EXPIRED, "this session reached its maximum duration")
        return session

    def _own_session(
        self, caller: Caller, session_id: str, allow_expired: bool = False, read: SessionRecord | None = None
    ) -> SessionRecord:
        """The session this connection speaks in. Whose it is is decided before its state:
        another speaker's session, ended or not, answers as an unknown one."""
        self._require_role(caller, "speaker")
        found = read or self._read(session_id)
        if not found or found.speaker_connection_id != caller.connection_id:
            self._miss(caller, session_id)
        return self._live_session(session_id, allow_expired, found)


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
