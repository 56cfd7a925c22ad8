"""Who listens to a session, counted as joins and leaves happen.

The session item keeps `listenerTotal` and `listenerCounts` (language -> count), moved
by conditional updates, so that the listener cap holds under concurrent joins and the
speaker's `listenerStats` never needs a query of every listener. The connection record
(its `sessionId` and `targetLanguage`) stays the truth of who gets clips; the counters
move exactly once per record change because each change returns the record's old
values (ReturnValues=ALL_OLD), which only one writer can see."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
from shared.conditional import conditional_failed
from shared.connection_record import ConnectionRecord
from shared.session_record import SessionRecord

# API Gateway answers 410 for a connection still inside $connect, as for a closed one:
# a record younger than this may be a listener who is joining, and is kept.
CONNECT_GRACE_MS = 30_000


class SessionFull(Exception):
    """The session has its maximum number of listeners."""


class NotConnected(Exception):
    """The connection record vanished (its $disconnect ran) while it was joining."""


@dataclass(frozen=True)
class Seat:
    """Where a connection listens, read from a connection record."""

    session_id: str
    language: str

    @classmethod
    def of(cls, item: Mapping[str, Any] | None) -> Seat | None:
        """The seat of a connection item (as an update or delete returned it)."""
        return cls.of_record(ConnectionRecord.from_item(item)) if item else None

    @classmethod
    def of_record(cls, record: ConnectionRecord | None) -> Seat | None:
        if record is None or record.role != "listener":
            return None
        if not record.session_id or not record.target_language:
            return None
        return cls(record.session_id, record.target_language)


def counts_of(item: dict[str, Any] | None) -> dict[str, int]:
    """listenerCounts of a session item, without the languages nobody listens to any more."""
    return dict(SessionRecord.from_item(item or {}).listener_counts)


def initial_counters() -> dict[str, Any]:
    """Attributes a new session item starts with (the map must exist to update its keys)."""
    return SessionRecord.attributes(listener_total=0, listener_counts={})


class Audience:
    def __init__(self, sessions_table: Any, connections_table: Any, clock: Callable[[], float]) -> None:
        self._sessions = sessions_table
        self._connections = connections_table
        self._clock = clock

    # -- counters ---------------------------------------------------------------
    def _add(self, session_id: str, language: str, cap: int | None) -> dict[str, int]:
        condition = f"attribute_exists({resources.SESSIONS_PARTITION_KEY})"
        values: dict[str, Any] = {":one": 1, ":zero": 0}
        if cap is not None:
            condition += " AND listenerTotal < :cap"
            values[":cap"] = cap
        try:
            result = self._sessions.update_item(
                Key={resources.SESSIONS_PARTITION_KEY: session_id},
                UpdateExpression="SET listenerCounts.#l = if_not_exists(listenerCounts.#l, :zero) + :one, "
                "listenerTotal = if_not_exists(listenerTotal, :zero) + :one",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#l": language},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if conditional_failed(error):
                raise SessionFull(session_id) from error
            raise
        return counts_of(result.get("Attributes"))

    def _subtract(self, seat: Seat) -> dict[str, int] | None:
        try:
            result = self._sessions.update_item(
                Key={resources.SESSIONS_PARTITION_KEY: seat.session_id},
                UpdateExpression="SET listenerCounts.#l = listenerCounts.#l - :one, "
                "listenerTotal = listenerTotal - :one",
                ConditionExpression="listenerCounts.#l > :zero AND listenerTotal > :zero",
                ExpressionAttributeNames={"#l": seat.language},
                ExpressionAttributeValues={":one": 1, ":zero": 0},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if conditional_failed(error):
                return None  # the session is gone, or was never counted: nothing to undo
            raise
        return counts_of(result.get("Attributes"))

    def _subtract_many(self, session_id: str, leaving: Counter[str]) -> None:
        """One update of the session item for a whole clip's stale listeners: the hot item
        gets one write, not one per connection."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":total": sum(leaving.values())}
        sets, checks = ["listenerTotal = listenerTotal - :total"], ["listenerTotal >= :total"]
        for n, language in enumerate(sorted(leaving)):
            names[f"#l{n}"], values[f":n{n}"] = language, leaving[language]
            sets.append(f"listenerCounts.#l{n} = listenerCounts.#l{n} - :n{n}")
            checks.append(f"listenerCounts.#l{n} >= :n{n}")
        try:
            self._sessions.update_item(
                Key={resources.SESSIONS_PARTITION_KEY: session_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(checks),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise
            # The session is gone, or a count is lower than expected: seat by seat, each
            # with its own guard, so that no counter goes below zero.
            for language, n in leaving.items():
                for _ in range(n):
                    self._subtract(Seat(session_id, language))

    def _move(self, session_id: str, old: str, new: str) -> dict[str, int]:
        result = self._sessions.update_item(
            Key={resources.SESSIONS_PARTITION_KEY: session_id},
            UpdateExpression="SET listenerCounts.#new = if_not_exists(listenerCounts.#new, :zero) + :one, "
            "listenerCounts.#old = listenerCounts.#old - :one",
            ConditionExpression="listenerCounts.#old > :zero",
            ExpressionAttributeNames={"#new": new, "#old": old},
            ExpressionAttributeValues={":one": 1, ":zero": 0},
            ReturnValues="ALL_NEW",
        )
        return counts_of(result.get("Attributes"))

    def counts(self, session_id: str) -> dict[str, int]:
        item = self._sessions.get_item(
            Key={resources.SESSIONS_PARTITION_KEY: session_id}, ConsistentRead=True
        ).get("Item")
        return counts_of(item)

    # -- record changes -----------------------------------------------------------
    def admit(self, connection_id: str, session_id: str, language: str, cap: int | None) -> dict[str, int]:
        """Seats the connection in the session (within `cap` unless None) and returns the
        session's counts. A connection that was seated elsewhere leaves that seat."""
        counts = self._add(session_id, language, cap)
        try:
            result = self._connections.update_item(
                Key={resources.CONNECTIONS_PARTITION_KEY: connection_id},
                UpdateExpression="SET sessionId = :s, targetLanguage = :l",
                ConditionExpression=f"attribute_exists({resources.CONNECTIONS_PARTITION_KEY})",
                ExpressionAttributeValues={":s": session_id, ":l": language},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if conditional_failed(error):
                self._subtract(Seat(session_id, language))
                raise NotConnected(connection_id) from error
            raise
        previous = Seat.of(result.get("Attributes"))
        if previous is not None:
            after = self._subtract(previous)
            if previous.session_id == session_id and after is not None:
                counts = after
        return counts

    def seated(self, connection_id: str, session_id: str) -> bool:
        """True when the connection listens to the session (its record says so)."""
        item = self._connections.get_item(
            Key={resources.CONNECTIONS_PARTITION_KEY: connection_id}, ConsistentRead=True
        ).get("Item")
        seat = Seat.of(item)
        return seat is not None and seat.session_id == session_id

    def vacate(self, connection_id: str, session_id: str) -> dict[str, int] | None:
        """Takes the connection's seat in the session away (its seat moved to another
        connection): the session's counts after, or None when it held no seat there. The
        record stays: the connection may still be open."""
        try:
            result = self._connections.update_item(
                Key={resources.CONNECTIONS_PARTITION_KEY: connection_id},
                UpdateExpression="REMOVE sessionId, targetLanguage",
                ConditionExpression="sessionId = :s",
                ExpressionAttributeValues={":s": session_id},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if conditional_failed(error):
                return None
            raise
        seat = Seat.of(result.get("Attributes"))
        return self._subtract(seat) if seat is not None else None

    def switch(self, connection_id: str, session_id: str, language: str) -> dict[str, int]:
        try:
            result = self._connections.update_item(
                Key={resources.CONNECTIONS_PARTITION_KEY: connection_id},
                UpdateExpression="SET targetLanguage = :l",
                ConditionExpression="sessionId = :s",
                ExpressionAttributeValues={":s": session_id, ":l": language},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if conditional_failed(error):
                raise NotConnected(connection_id) from error
            raise
        previous = Seat.of(result.get("Attributes"))
        if previous is None or previous.language == language:
            return self.counts(session_id)
        try:
            return self._move(session_id, previous.language, language)
        except ClientError as error:
            if not conditional_failed(error):
                raise
            return self._add(session_id, language, None)

    def release(self, gone: ConnectionRecord | None) -> dict[str, int] | None:
        """After a connection record was deleted (its old values in `gone`): the counts
        of the session it listened to, or None if it was not a listener."""
        seat = Seat.of_record(gone)
        return self._subtract(seat) if seat else None

    def remove_stale_many(self, connection_ids: Iterable[str], workers: int = 8) -> dict[str, Seat]:
        """Removes every connection a fan-out found gone (410): each record is
        deleted under _delete_stale's conditions (its own partition, so no hot key), and each
        session's counters move in one write. Returns the removed connections' seats."""
        ids = sorted(set(connection_ids))
        if not ids:
            return {}
        with ThreadPoolExecutor(max_workers=min(workers, len(ids))) as pool:
            seats = list(pool.map(self._delete_stale, ids))
        leaving: dict[str, Counter[str]] = {}
        for seat in seats:
            if seat is not None:
                leaving.setdefault(seat.session_id, Counter())[seat.language] += 1
        for session_id, languages in leaving.items():
            self._subtract_many(session_id, languages)
        return {cid: seat for cid, seat in zip(ids, seats, strict=True) if seat is not None}

    def _delete_stale(self, connection_id: str) -> Seat | None:
        """Deletes a listener that API Gateway answered 410 for, unless its record is young
        enough to be a listener still inside $connect, or it is a speaker (whose
        $disconnect decides what happens to its session). Returns the seat it left."""
        cutoff = int(self._clock() * 1000) - CONNECT_GRACE_MS
        try:
            result = self._connections.delete_item(
                Key={resources.CONNECTIONS_PARTITION_KEY: connection_id},
                ConditionExpression="#role = :listener AND "
                "(attribute_not_exists(connectedAt) OR connectedAt < :cutoff)",
                ExpressionAttributeNames={"#role": "role"},
                ExpressionAttributeValues={":listener": "listener", ":cutoff": Decimal(cutoff)},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if conditional_failed(error):
                return None
            raise
        return Seat.of(result.get("Attributes"))
