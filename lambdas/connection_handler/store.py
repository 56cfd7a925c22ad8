"""DynamoDB repositories of sessions and connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
from shared.audience import NotConnected
from shared.listener_index import session_listeners
from shared.session_record import SessionRecord, as_int


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def set_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """update_item arguments that SET each attribute (names escaped: status, ttl are reserved)."""
    return {
        "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in values),
        "ExpressionAttributeNames": {f"#{k}": k for k in values},
        "ExpressionAttributeValues": {f":{k}": v for k, v in values.items()},
    }


class SessionTaken(Exception):
    pass


# Partition-key prefix of rejoin tokens in the Sessions table (the stack limits DeleteItem to it).
REJOIN_KEY_PREFIX = "rejoin#"


@dataclass(frozen=True)
class Allowance:
    """A limit of `limit` uses per `seconds`, counted in the item `rate#<name>`."""

    name: str
    limit: int
    seconds: int = 60

    @property
    def key(self) -> str:
        return f"rate#{self.name}"


@dataclass(frozen=True)
class RejoinSeat:
    """What a rejoin token stands for: the seat of one connection in one session."""

    session_id: str
    connection_id: str


@dataclass(frozen=True)
class Condition:
    """The state a session must be in for a transition to apply."""

    statuses: tuple[str, ...]
    suspended_at: int | None = None


class SessionRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, record: SessionRecord) -> None:
        try:
            self._table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(sessionId)")
        except ClientError as error:
            if _conditional_failed(error):
                raise SessionTaken(record.session_id) from error
            raise

    def get(self, session_id: str) -> SessionRecord | None:
        item = self._table.get_item(Key={"sessionId": session_id}, ConsistentRead=True).get("Item")
        return SessionRecord.from_item(item) if item else None

    def raise_high_water(self, session_id: str, seq: int) -> None:
        """lastSeq becomes the highest seq accepted so far (chunks may arrive in any order)."""
        try:
            self._table.update_item(
                Key={"sessionId": session_id},
                UpdateExpression="SET #seq = :seq",
                ConditionExpression="attribute_not_exists(#seq) OR #seq < :seq",
                ExpressionAttributeNames={"#seq": SessionRecord.attribute("last_seq")},
                ExpressionAttributeValues={":seq": seq},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def transition(
        self, session_id: str, when: Condition, values: dict[str, Any], remove: tuple[str, ...] = ()
    ) -> SessionRecord | None:
        """Sets the record fields `values` (and removes the fields `remove`) if the session
        is in one of `when.statuses` (and, if given, was suspended at `when.suspended_at`);
        returns the new record, or None if it was not."""
        attributes = SessionRecord.attributes(**values)
        removed = [SessionRecord.attribute(name) for name in remove]
        names = {
            "#status": SessionRecord.attribute("status"),
            **{f"#{k}": k for k in attributes},
            **{f"#{k}": k for k in removed},
        }
        expected: dict[str, Any] = {f":was{i}": status for i, status in enumerate(when.statuses)}
        condition = f"#status IN ({', '.join(expected)})"
        if when.suspended_at is not None:
            names["#suspendedAt"] = SessionRecord.attribute("suspended_at_ms")
            condition += " AND #suspendedAt = :suspendedAt"
            expected[":suspendedAt"] = when.suspended_at
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in attributes)
        if removed:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removed)
        try:
            result = self._table.update_item(
                Key={"sessionId": session_id},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**{f":{k}": v for k, v in attributes.items()}, **expected},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _conditional_failed(error):
                return None
            raise
        return SessionRecord.from_item(result["Attributes"])

    def count(self, counter: str, ttl: int) -> int:
        """Adds one to a counter item that expires by TTL; returns the new count."""
        result = self._table.update_item(
            Key={"sessionId": f"rate#{counter}"},
            UpdateExpression="ADD hits :one SET #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": resources.TTL_ATTRIBUTE},
            ExpressionAttributeValues={":one": 1, ":ttl": ttl},
            ReturnValues="UPDATED_NEW",
        )
        return int(result["Attributes"]["hits"])

    def spend(self, allowance: Allowance, now: int) -> bool:
        """One more use of the allowance, in one conditional write; False (nothing spent)
        when its limit is spent. The window opens with its first use and lasts
        `allowance.seconds`; the use that reaches the limit restarts it, so a block lasts
        `allowance.seconds` from then. Concurrent callers never pass the limit together."""
        for _ in range(2):  # a window that expired is reopened; a racing reopen is retried once
            hits = self._add_in_window(allowance, now)
            if hits is not None:
                if hits >= allowance.limit:
                    self._extend(allowance, now)
                return True
            if self._open_window(allowance, now):
                if allowance.limit <= 1:
                    self._extend(allowance, now)
                return True
        return False

    def spent(self, allowance: Allowance, now: int) -> bool:
        """True while the allowance's limit is spent (a strongly consistent read)."""
        item = self._table.get_item(Key={"sessionId": allowance.key}, ConsistentRead=True).get("Item") or {}
        return as_int(item.get("hits"), 0) >= allowance.limit and as_int(item.get("until"), 0) > now

    def _add_in_window(self, allowance: Allowance, now: int) -> int | None:
        try:
            result = self._table.update_item(
                Key={"sessionId": allowance.key},
                UpdateExpression="ADD hits :one",
                ConditionExpression="#until > :now AND hits < :limit",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":one": 1, ":now": now, ":limit": allowance.limit},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if _conditional_failed(error):
                return None
            raise
        return int(result["Attributes"]["hits"])

    def _open_window(self, allowance: Allowance, now: int) -> bool:
        until = now + allowance.seconds
        try:
            self._table.put_item(
                Item={
                    "sessionId": allowance.key,
                    "hits": 1,
                    "until": until,
                    resources.TTL_ATTRIBUTE: until + 60,
                },
                ConditionExpression="attribute_not_exists(#until) OR #until <= :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def _extend(self, allowance: Allowance, now: int) -> None:
        until = now + allowance.seconds
        self._table.update_item(
            Key={"sessionId": allowance.key},
            UpdateExpression="SET #until = :until, #ttl = :ttl",
            ExpressionAttributeNames={"#until": "until", "#ttl": resources.TTL_ATTRIBUTE},
            ExpressionAttributeValues={":until": until, ":ttl": until + 60},
        )

    def issue_rejoin(self, token: str, seat: RejoinSeat, ttl: int) -> None:
        self._table.put_item(
            Item={
                "sessionId": f"{REJOIN_KEY_PREFIX}{token}",
                "forSession": seat.session_id,
                "forConnection": seat.connection_id,
                resources.TTL_ATTRIBUTE: ttl,
            }
        )

    def revoke_rejoin(self, token: str) -> None:
        self._table.delete_item(Key={"sessionId": f"{REJOIN_KEY_PREFIX}{token}"})

    def redeem_rejoin(self, token: str, session_id: str, now: int) -> RejoinSeat | None:
        """The seat a token was issued for, once, if it is of this session and has not
        expired. Single use: a leaked token cannot seat many listeners past the limits."""
        result = self._table.delete_item(
            Key={"sessionId": f"{REJOIN_KEY_PREFIX}{token}"}, ReturnValues="ALL_OLD"
        )
        item = result.get("Attributes") or {}
        if item.get("forSession") != session_id or as_int(item.get(resources.TTL_ATTRIBUTE), 0) <= now:
            return None
        if not item.get("forConnection"):
            return None
        return RejoinSeat(session_id, str(item["forConnection"]))


class ConnectionRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, item: dict[str, Any]) -> None:
        self._table.put_item(Item=item)

    def get(self, connection_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"connectionId": connection_id}).get("Item")
        return dict(item) if item else None

    def update(self, connection_id: str, **values: Any) -> None:
        self._table.update_item(
            Key={"connectionId": connection_id},
            ConditionExpression="attribute_exists(connectionId)",
            **set_attributes(values),
        )

    def swap_rejoin_token(self, connection_id: str, token: str) -> str | None:
        """Keeps `token` as the connection's one live rejoin token; returns the one it
        replaces. Raises NotConnected when the connection record is gone."""
        try:
            result = self._table.update_item(
                Key={"connectionId": connection_id},
                UpdateExpression="SET rejoinToken = :t",
                ConditionExpression="attribute_exists(connectionId)",
                ExpressionAttributeValues={":t": token},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if _conditional_failed(error):
                raise NotConnected(connection_id) from error
            raise
        previous = (result.get("Attributes") or {}).get("rejoinToken")
        return str(previous) if previous else None

    def delete(self, connection_id: str) -> dict[str, Any] | None:
        result = self._table.delete_item(Key={"connectionId": connection_id}, ReturnValues="ALL_OLD")
        item = result.get("Attributes")
        return dict(item) if item else None

    def listeners(self, session_id: str) -> list[tuple[str, str]]:
        """(connectionId, targetLanguage) of every listener of the session."""
        return session_listeners(self._table, session_id)
