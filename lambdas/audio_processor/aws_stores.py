"""AWS adapters of the processor's stores: clips in S3, listeners and sessions in
DynamoDB, and the delivery ledger in the idempotency table."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
from shared.audience import Audience
from shared.listener_index import session_listeners
from shared.session_record import SessionRecord
from shared.transcript_records import RecordListing, UtteranceRecord


class S3ClipStore:
    def __init__(self, s3: Any, bucket: str, url_seconds: int) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._url_seconds = url_seconds

    def put(self, key: str, mp3: bytes) -> str:
        return self.put_file(key, mp3, "audio/mpeg")

    def put_file(
        self,
        key: str,
        body: bytes,
        content_type: str,
        download_as: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Stores the object and returns a GET URL that expires after the configured time;
        `download_as` makes browsers save it under that name."""
        extra: dict[str, Any] = (
            {"ContentDisposition": f'attachment; filename="{download_as}"'} if download_as else {}
        )
        if metadata:
            extra["Metadata"] = metadata
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            CacheControl=f"private, max-age={self._url_seconds}",
            **extra,
        )
        return self.url(key)

    def url(self, key: str) -> str:
        return str(
            self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._url_seconds
            )
        )

    def metadata(self, key: str) -> dict[str, str] | None:
        """The user metadata of a stored object; None when there is no such object."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return {str(k): str(v) for k, v in head.get("Metadata", {}).items()}


class S3UtteranceRecords:
    """The utterance records of a session, one object each under its prefix."""

    def __init__(self, s3: Any, bucket: str, readers: int = 16) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._readers = readers

    def put(self, record: UtteranceRecord) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=resources.utterance_record_key(record.session_id, record.index),
            Body=record.to_json().encode(),
            ContentType="application/json",
        )

    def listing(self, session_id: str) -> RecordListing:
        """The keys of the session's records (one LIST page per 1,000), and a fingerprint
        that changes when any record is added or rewritten."""
        keys: list[str] = []
        digest = hashlib.sha256()
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(
            Bucket=self._bucket, Prefix=resources.utterance_records_prefix(session_id)
        ):
            for item in page.get("Contents", []):
                keys.append(item["Key"])
                digest.update(f"{item['Key']} {item.get('ETag', '')}\n".encode())
        return RecordListing(tuple(keys), f"{len(keys)}-{digest.hexdigest()[:32]}")

    def read(self, listing: RecordListing) -> list[UtteranceRecord]:
        """The listed records, in index order (~1,200 per talk-hour, GETs in parallel)."""

        def read(key: str) -> UtteranceRecord:
            return UtteranceRecord.from_json(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())

        with ThreadPoolExecutor(max_workers=self._readers) as pool:
            records = list(pool.map(read, listing.keys))
        return sorted(records, key=lambda record: record.index)

    def all(self, session_id: str) -> list[UtteranceRecord]:
        return self.read(self.listing(session_id))


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
