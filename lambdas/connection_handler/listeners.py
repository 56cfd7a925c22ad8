"""A session's listeners: joins (new ones within the limits, and seats moved by a rejoin
token), language switches, the speaker's listener counts, and listeners API Gateway says
are gone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from connection_handler import messages as m
from connection_handler.access import Part, require_role
from connection_handler.context import Caller, Outgoing
from connection_handler.store import RejoinSeat
from delivery.audience import NotConnected, SessionFull
from shared import protocol as p
from shared.protocol import ErrorCode, ProtocolError
from shared.session_record import SessionRecord

STATS_TRAILING_SECONDS = 1  # a burst of joins is summed up for the speaker this much later


@dataclass(frozen=True, repr=False)
class Listeners(Part):
    def join_session(self, caller: Caller, action: m.JoinSession) -> list[Outgoing]:
        """A valid rejoin token is redeemed first: it moves its connection's seat here, and
        no join limit or miss block applies to it. Any other join is a new listener."""
        require_role(caller, "listener")
        now = int(self.ports.clock())
        moved = self._redeem(action, now)
        if moved is None:
            self.throttle.refuse_if_blocked(caller)
        found = self.access.read(action.sessionId)
        if found is None:
            self.access.miss(caller, action.sessionId)
        session = self.access.live_session(action.sessionId, read=found)
        self.access.check_target(session, action.targetLanguage)
        # Reconnects after a venue's Wi-Fi drops come all at once: they are counted (for
        # the speaker's stats below) but never refused.
        joins_this_second = self.throttle.count_join(action.sessionId, now)
        if moved is None:
            self.throttle.admit_join(caller, now, joins_this_second)
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
        return self.ports.sessions.redeem_rejoin(action.rejoinToken, action.sessionId, now)

    def _seat(self, caller: Caller, action: m.JoinSession, moved: RejoinSeat | None) -> dict[str, int] | None:
        """Seats the caller; None when its connection closed meanwhile. A redeemed token moves
        the seat its connection holds here (past the cap: the seat is not a new one) and that
        connection loses it; when that connection holds none any more (it closed, and its
        seat was freed), the join is seated within the cap like any other."""
        audience, most = self.ports.audience, self.ports.limits.max_listeners
        old = moved.connection_id if moved else ""
        moving = bool(old) and (old == caller.connection_id or audience.seated(old, action.sessionId))
        try:
            counts = audience.admit(
                caller.connection_id, action.sessionId, action.targetLanguage, None if moving else most
            )
        except SessionFull as error:
            raise ProtocolError(ErrorCode.SESSION_FULL, f"this session has its {most} listeners") from error
        except NotConnected:
            return None
        if moving and old != caller.connection_id:
            counts = audience.vacate(old, action.sessionId) or counts
        return counts

    def _issue_rejoin(self, connection_id: str, session_id: str, now: int) -> str | None:
        """A token for this connection's seat; the one it held before is revoked (one live
        token per connection). None when the connection closed meanwhile."""
        sessions = self.ports.sessions
        token = secrets.token_urlsafe(18)
        sessions.issue_rejoin(
            token, RejoinSeat(session_id, connection_id), now + self.ports.limits.connection_ttl_seconds
        )
        try:
            previous = self.ports.connections.swap_rejoin_token(connection_id, token)
        except NotConnected:
            sessions.revoke_rejoin(token)
            return None
        if previous:
            sessions.revoke_rejoin(previous)
        return token

    def _stats_after_join(
        self, session: SessionRecord, counts: dict[str, int], joins_this_second: int
    ) -> list[Outgoing]:
        """At most one listenerStats a second from joins: the first join of each second
        sends it, the second schedules a trailing one (the counts after the burst). A
        storm of 500 joins a second costs the speaker two messages, not 500."""
        if joins_this_second == 1:
            return self.access.stats_for_speaker(session, counts)
        if joins_this_second == 2:
            self.ports.timers.listener_stats(session.session_id, STATS_TRAILING_SECONDS)
        return []

    def stats_due(self, session_id: str) -> list[Outgoing]:
        """The trailing listenerStats timer: the session's counts now."""
        session = self.ports.sessions.get(session_id)
        return self.access.stats_for_speaker(session) if session else []

    def switch_language(self, caller: Caller, action: m.SwitchLanguage) -> list[Outgoing]:
        require_role(caller, "listener")
        connection = self.ports.connections.get(caller.connection_id)
        if connection is None or not connection.session_id:
            raise ProtocolError(ErrorCode.NOT_JOINED, "join a session before switching language")
        session = self.access.live_session(connection.session_id)
        self.access.check_target(session, action.targetLanguage)
        try:
            counts = self.ports.audience.switch(
                caller.connection_id, session.session_id, action.targetLanguage
            )
        except NotConnected as error:
            raise ProtocolError(ErrorCode.NOT_JOINED, "join a session before switching language") from error
        return [
            (caller.connection_id, self._joined(session, action.targetLanguage)),
            *self.access.stats_for_speaker(session, counts),
        ]

    def forget(self, connection_ids: list[str]) -> list[Outgoing]:
        """API Gateway answered 410 for these connections: listeners whose $disconnect was
        lost are removed (each session's counters in one write) and their speakers told;
        a joining listener or a speaker is kept."""
        seats = self.ports.audience.remove_stale_many(connection_ids)
        out: list[Outgoing] = []
        for session_id in sorted({seat.session_id for seat in seats.values()}):
            out.extend(self.stats_due(session_id))
        return out

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
            languages=self.ports.served.targets(source),
            rejoin_token=rejoin_token,
        )
