"""DynamoDB repositories of sessions (with their rejoin tokens) and connections. The rate
counters, in the same table, are counters.py's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from delivery.audience import NotConnected
from delivery.listener_index import session_listeners
from shared import resources
from shared.conditional import conditional_failed
from shared.connection_record import ConnectionRecord
from shared.session_record import SessionRecord, as_int


def set_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """update_item arguments that SET each attribute (names escaped: status, ttl are reserved)."""
    return {
        "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in values),
        "ExpressionAttributeNames": {f"#{k}": k for k in values},
        "ExpressionAttributeValues": {f":{k}": v for k, v in values.items()},
    }


class SessionTaken(Exception):
    pass


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
            if conditional_failed(error):
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
            if not conditional_failed(error):
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
            if conditional_failed(error):
                return None
            raise
        return SessionRecord.from_item(result["Attributes"])

    def issue_rejoin(self, token: str, seat: RejoinSeat, ttl: int) -> None:
        self._table.put_item(
            Item={
                "sessionId": f"{resources.REJOIN_KEY_PREFIX}{token}",
                "forSession": seat.session_id,
                "forConnection": seat.connection_id,
                resources.TTL_ATTRIBUTE: ttl,
            }
        )

    def revoke_rejoin(self, token: str) -> None:
        self._table.delete_item(Key={"sessionId": f"{resources.REJOIN_KEY_PREFIX}{token}"})

    def redeem_rejoin(self, token: str, session_id: str, now: int) -> RejoinSeat | None:
        """The seat a token was issued for, once, if it is of this session and has not
        expired. Single use: a leaked token cannot seat many listeners past the limits."""
        result = self._table.delete_item(
            Key={"sessionId": f"{resources.REJOIN_KEY_PREFIX}{token}"}, ReturnValues="ALL_OLD"
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

    def put(self, record: ConnectionRecord) -> None:
        self._table.put_item(Item=record.to_item())

    def get(self, connection_id: str) -> ConnectionRecord | None:
        item = self._table.get_item(Key=self._key(connection_id)).get("Item")
        return ConnectionRecord.from_item(item) if item else None

    def bind(self, connection_id: str, session_id: str) -> None:
        """The speaker's connection speaks in this session (a listener's seat is the audience's)."""
        self._table.update_item(
            Key=self._key(connection_id),
            ConditionExpression=f"attribute_exists({_ID})",
            **set_attributes({ConnectionRecord.attribute("session_id"): session_id}),
        )

    def swap_rejoin_token(self, connection_id: str, token: str) -> str | None:
        """Keeps `token` as the connection's one live rejoin token; returns the one it
        replaces. Raises NotConnected when the connection record is gone."""
        try:
            result = self._table.update_item(
                Key=self._key(connection_id),
                UpdateExpression="SET #token = :t",
                ConditionExpression=f"attribute_exists({_ID})",
                ExpressionAttributeNames={"#token": _TOKEN},
                ExpressionAttributeValues={":t": token},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if conditional_failed(error):
                raise NotConnected(connection_id) from error
            raise
        previous = (result.get("Attributes") or {}).get(_TOKEN)
        return str(previous) if previous else None

    def delete(self, connection_id: str) -> ConnectionRecord | None:
        """Deletes the record; returns what it held (None: there was none)."""
        result = self._table.delete_item(Key=self._key(connection_id), ReturnValues="ALL_OLD")
        item = result.get("Attributes")
        return ConnectionRecord.from_item(item) if item else None

    def listeners(self, session_id: str) -> list[tuple[str, str]]:
        """(connectionId, targetLanguage) of every listener of the session."""
        return session_listeners(self._table, session_id)

    @staticmethod
    def _key(connection_id: str) -> dict[str, str]:
        return {_ID: connection_id}


_ID = ConnectionRecord.attribute("connection_id")
_TOKEN = ConnectionRecord.attribute("rejoin_token")
