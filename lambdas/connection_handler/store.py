"""DynamoDB repositories of sessions and connections."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
from shared.listener_index import session_listeners


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


class SessionRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, item: dict[str, Any]) -> None:
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(sessionId)")
        except ClientError as error:
            if _conditional_failed(error):
                raise SessionTaken(item["sessionId"]) from error
            raise

    def get(self, session_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"sessionId": session_id}, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def update(self, session_id: str, **values: Any) -> None:
        self._table.update_item(Key={"sessionId": session_id}, **set_attributes(values))

    def accept_chunk(self, session_id: str, seq: int, second: int, per_second: int) -> str:
        """'accepted', 'duplicate' (seq not above the last one) or 'rate_limited'.

        One conditional write in the common case: same second, under the limit."""
        key = {"sessionId": session_id}
        values = {":seq": seq, ":second": second, ":max": per_second, ":one": 1}
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET lastSeq = :seq ADD chunkCount :one",
                ConditionExpression="(attribute_not_exists(lastSeq) OR lastSeq < :seq) "
                "AND chunkSecond = :second AND chunkCount < :max",
                ExpressionAttributeValues=values,
            )
            return "accepted"
        except ClientError as error:
            if not _conditional_failed(error):
                raise
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET lastSeq = :seq, chunkSecond = :second, chunkCount = :one",
                ConditionExpression="(attribute_not_exists(lastSeq) OR lastSeq < :seq) "
                "AND (attribute_not_exists(chunkSecond) OR chunkSecond <> :second)",
                ExpressionAttributeValues={":seq": seq, ":second": second, ":one": 1},
            )
            return "accepted"
        except ClientError as error:
            if not _conditional_failed(error):
                raise
        item = self.get(session_id) or {}
        if "lastSeq" in item and int(item["lastSeq"]) >= seq:
            return "duplicate"
        return "rate_limited"

    def count_join(self, source_ip: str, minute: int, ttl: int) -> int:
        """Joins from one address in one minute (an item that expires by TTL)."""
        result = self._table.update_item(
            Key={"sessionId": f"rate#join#{source_ip}#{minute}"},
            UpdateExpression="ADD joins :one SET #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": resources.TTL_ATTRIBUTE},
            ExpressionAttributeValues={":one": 1, ":ttl": ttl},
            ReturnValues="UPDATED_NEW",
        )
        return int(result["Attributes"]["joins"])


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

    def counts(self, session_id: str) -> dict[str, int]:
        return dict(Counter(language for _, language in self.listeners(session_id)))


def as_int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int | Decimal) else default
