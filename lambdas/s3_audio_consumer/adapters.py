"""AWS adapters of the consumer's ports: S3 chunks, the DynamoDB cursor, Lambda invoke."""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from s3_audio_consumer.batcher import Cursor, Listing, SessionState
from shared import resources
from shared.session_record import SessionRecord


class S3ChunkStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._pool = ThreadPoolExecutor(max_workers=8)

    def list_from(self, session_id: str, first_seq: int) -> Listing:
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Prefix": resources.chunk_prefix(session_id)}
        if first_seq > 0:
            kwargs["StartAfter"] = resources.chunk_key(session_id, first_seq - 1)
        chunks: dict[int, float] = {}
        final_seq: int | None = None
        final_at: float | None = None
        for page in self._s3.get_paginator("list_objects_v2").paginate(**kwargs):
            for item in page.get("Contents", []):
                parsed = resources.parse_chunk_key(item["Key"])
                if parsed is None:
                    continue
                seq = parsed.seq
                modified = item["LastModified"].timestamp()
                if seq is None:
                    body = self._s3.get_object(Bucket=self._bucket, Key=item["Key"])["Body"].read()
                    final_seq = int(json.loads(body)["finalSeq"])
                    final_at = modified
                else:
                    chunks[seq] = modified
        return Listing(chunks=chunks, final_seq=final_seq, final_marked_at=final_at)

    def read(self, session_id: str, seqs: list[int]) -> dict[int, bytes]:
        def get(seq: int) -> bytes:
            key = resources.chunk_key(session_id, seq)
            return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())

        return dict(zip(seqs, self._pool.map(get, seqs), strict=True))


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

    With `owner`, every write is fenced by the session's worker lease: a worker that
    lost its lease (it stalled, and a replacement took over) can no longer move the
    cursor, so two workers never feed the same talk at once."""

    def __init__(self, table: Any, owner: str | None = None) -> None:
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
        """Rolls back the claim that wrote `written`; versions only grow, so an invocation
        that planned from `written` (or from `previous`) loses its claim and reloads."""
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
        if self._owner is not None:
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
