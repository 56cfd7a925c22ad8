"""Every rate limit of the connection handler, and the names of the counters it keeps
(stored by counters.py): chunks per session and second, joins per session and second and
per address and minute, misses per connection and address, transcript requests per
connection, address and session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connection_handler.context import Caller
from connection_handler.counters import Allowance, RateCounters
from connection_handler.limits import Limits
from shared.protocol import ErrorCode, ProtocolError

TOO_MANY_MISSES = "too many codes that name no session you may use; wait a minute"


@dataclass(frozen=True)
class Throttle:
    counters: RateCounters
    limits: Limits
    clock: Callable[[], float]

    def take_chunk(self, session_id: str) -> None:
        """Counts a chunk in its second; refused past the per-second limit (the speaker resends)."""
        second = int(self.clock())
        if self.counters.count(f"chunk#{session_id}#{second}", second + 60) > self.limits.chunks_per_second:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"more than {self.limits.chunks_per_second} audio chunks per second; resend this one",
            )

    def count_join(self, session_id: str, now: int) -> int:
        """Counts a join of the session in second `now`; returns how many joined in it so far."""
        return self.counters.count(f"join-session#{session_id}#{now}", now + 60)

    def admit_join(self, caller: Caller, now: int, joins_this_second: int) -> None:
        """A new listener (not a redeemed rejoin token) within the address's and the session's rates."""
        if (
            self.counters.count(f"join-ip#{caller.source_ip}#{now // 60}", now + 120)
            > self.limits.joins_per_ip_per_minute
        ):
            raise ProtocolError(ErrorCode.RATE_LIMITED, "too many joins from this address; wait a minute")
        if joins_this_second > self.limits.joins_per_session_per_second:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "many listeners are joining right now; try again in a second"
            )

    def spend_transcript(self, caller: Caller, session_id: str) -> None:
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
            if not self.counters.spend(allowance, now):
                raise ProtocolError(
                    ErrorCode.RATE_LIMITED, f"too many transcript requests from {whose}; wait a minute"
                )

    def refuse_if_blocked(self, caller: Caller) -> None:
        """Before a join looks a code up: a connection or address out of misses learns nothing."""
        now = int(self.clock())
        if any(self.counters.spent(allowance, now) for allowance in self._miss_allowances(caller)):
            raise ProtocolError(ErrorCode.RATE_LIMITED, TOO_MANY_MISSES)

    def spend_miss(self, caller: Caller) -> None:
        """Counts a miss, in one conditional write per counter, against the connection and
        then the address: a connection out of misses spends no more of its address's; past
        either limit the answer is RATE_LIMITED."""
        now = int(self.clock())
        for allowance in self._miss_allowances(caller):
            if not self.counters.spend(allowance, now):
                raise ProtocolError(ErrorCode.RATE_LIMITED, TOO_MANY_MISSES)

    def _miss_allowances(self, caller: Caller) -> tuple[Allowance, Allowance]:
        return (
            Allowance(
                f"miss-connection#{caller.connection_id}", self.limits.misses_per_connection_per_minute
            ),
            Allowance(f"miss-ip#{caller.source_ip}", self.limits.misses_per_ip_per_minute),
        )
