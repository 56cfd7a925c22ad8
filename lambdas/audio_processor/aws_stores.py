"""AWS adapters of the processor's stores: listeners and sessions in DynamoDB, and the
delivery ledger in the idempotency table. Its clips and utterance records are in the
translation bucket, whose stores it shares with the transcripts function
(shared/translation_bucket.py)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from delivery.audience import Audience
from delivery.listener_index import session_listeners
from shared import resources
from shared.session_record import SessionRecord


class DynamoListenerDirectory:
    """Reads the keys-only GSI: one query per batch gives every listener and language."""

    def __init__(self, connections_table: Any, audience: Audience) -> None:
        self._table = connections_table
        self._audience = audience

    def listeners(self, session_id: str) -> list[tuple[str, str]]:
        return session_listeners(self._table, session_id)

    def remove_gone(self, connection_ids: list[str]) -> list[str]:
        return sorted(self._audience.remove_stale_many(connection_ids))

    def counts(self, session_id: str) -> dict[str, int]:
        return self._audience.counts(session_id)


class DynamoSessionDirectory:
    def __init__(self, sessions_table: Any) -> None:
        self._table = sessions_table

    def speaker_connection(self, session_id: str) -> str | None:
        item = self._table.get_item(
            Key={resources.SESSIONS_PARTITION_KEY: session_id},
            ProjectionExpression=SessionRecord.attribute("speaker_connection_id"),
        ).get("Item")
        speaker = SessionRecord.from_item(item).speaker_connection_id if item else ""
        return speaker or None


class DynamoDeliveryLedger:
    """One conditional put per (session, index, language), in the idempotency table
    (partition key `id`, TTL attribute `expiration`), so that a retried invocation
    never sends the same clip twice, even after a crash half-way through."""

    def __init__(self, idempotency_table: Any, clock: Any, keep_seconds: int = 3600) -> None:
        self._table = idempotency_table
        self._clock = clock
        self._keep = keep_seconds

    def claim(self, session_id: str, index: int, language: str) -> bool:
        try:
            self._table.put_item(
                Item={
                    resources.IDEMPOTENCY_PARTITION_KEY: f"delivery#{session_id}#{index}#{language}",
                    resources.IDEMPOTENCY_TTL_ATTRIBUTE: int(self._clock()) + self._keep,
                },
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": resources.IDEMPOTENCY_PARTITION_KEY},
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
