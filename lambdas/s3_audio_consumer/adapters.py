"""The DynamoDB adapter of the worker's cursor store: the ingest cursor in the session item
(`ingest`), written only by the worker that holds the session's lease.

The cursor counts segments (~600 ms of audio each, cut for the recognition stream): its
`batch_index` is the segment's index. The name is the retired 3 s batches'; renaming the
stored attribute would lose the place of every session live across the deploy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from s3_audio_consumer.planner import Cursor, SessionState
from shared import resources
from shared.session_record import SessionRecord

_CURSOR_FIELDS = (
    "version", "batch_index", "cut_seq", "cut_offset", "preroll_seq", "preroll_offset",
    "preroll_samples", "emitted_samples", "gaps",
)  # fmt: skip


def cursor_to_item(cursor: Cursor) -> dict[str, Any]:
    value: dict[str, Any] = {name: Decimal(getattr(cursor, name)) for name in _CURSOR_FIELDS}
    value["init"] = cursor.init
    value["done"] = cursor.done
    return value


def cursor_from_item(raw: Mapping[str, Any] | None) -> Cursor:
    raw = raw or {}
    values = {name: int(raw.get(name, getattr(Cursor(), name))) for name in _CURSOR_FIELDS}
    init = raw.get("init") or b""
    init_bytes = bytes(getattr(init, "value", init))  # boto3 returns Binary for binary attributes
    return Cursor(**values, init=init_bytes, done=bool(raw.get("done", False)))


class DynamoCursorStore:
    """The cursor lives in the session item, attribute `ingest`.

    Every write is fenced by the session's worker lease (`owner`): a worker that lost
    its lease (it stalled, and a replacement took over) can no longer move the cursor,
    so two workers never feed the same talk at once. Within one lease the version makes
    each claim conditional on the cursor it was planned from."""

    def __init__(self, table: Any, owner: str) -> None:
        self._table = table
        self._owner = owner

    def load(self, session_id: str) -> SessionState | None:
        item = self._table.get_item(
            Key={resources.SESSIONS_PARTITION_KEY: session_id}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        record = SessionRecord.from_item(item)
        cursor = cursor_from_item(record.ingest)
        return SessionState(source_language=record.source_language, cursor=cursor)

    def claim(self, session_id: str, expected_version: int, new: Cursor) -> bool:
        condition = "attribute_not_exists(ingest)" if expected_version == 0 else "ingest.version = :expected"
        return self._write(session_id, new, condition, expected_version or None)

    def restore(self, session_id: str, written: Cursor, previous: Cursor) -> bool:
        """Puts `previous` back over `written` (a replacement rewinding to the checkpoint);
        versions only grow, so a plan made from either loses its claim and reloads."""
        restored = replace(previous, version=written.version + 1)
        return self._write(session_id, restored, "ingest.version = :expected", written.version)

    def _write(self, session_id: str, cursor: Cursor, condition: str, expected: int | None) -> bool:
        kwargs: dict[str, Any] = {
            "Key": {resources.SESSIONS_PARTITION_KEY: session_id},
            "UpdateExpression": "SET ingest = :ingest",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":ingest": cursor_to_item(cursor)},
        }
        if expected is not None:
            kwargs["ExpressionAttributeValues"][":expected"] = Decimal(expected)
        kwargs["ConditionExpression"] = f"({condition}) AND worker.#owner = :owner"
        kwargs["ExpressionAttributeNames"] = {"#owner": "owner"}
        kwargs["ExpressionAttributeValues"][":owner"] = self._owner
        try:
            self._table.update_item(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
