"""DynamoDB repositories of sessions and connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
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

    def peek(self, counter: str) -> int:
        item = self._table.get_item(Key={"sessionId": f"rate#{counter}"}).get("Item") or {}
        return as_int(item.get("hits"), 0)

    def issue_rejoin(self, token: str, session_id: str, ttl: int) -> None:
        self._table.put_item(
            Item={"sessionId": f"rejoin#{token}", "forSession": session_id, resources.TTL_ATTRIBUTE: ttl}
        )

    def redeem_rejoin(self, token: str, session_id: str, now: int) -> bool:
        """True once for a token issued to a listener of this session that has not expired.
        Single use: a leaked token cannot seat many listeners past the limits."""
        result = self._table.delete_item(Key={"sessionId": f"rejoin#{token}"}, ReturnValues="ALL_OLD")
        item = result.get("Attributes") or {}
        return item.get("forSession") == session_id and as_int(item.get(resources.TTL_ATTRIBUTE), 0) > now


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

    def delete(self, connection_id: str) -> dict[str, Any] | None:
        result = self._table.delete_item(Key={"connectionId": connection_id}, ReturnValues="ALL_OLD")
        item = result.get("Attributes")
        return dict(item) if item else None

    def listeners(self, session_id: str) -> list[tuple[str, str]]:
        """(connectionId, targetLanguage) of every listener of the session."""
        return session_listeners(self._table, session_id)
