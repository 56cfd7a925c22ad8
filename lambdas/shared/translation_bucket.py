"""The translation bucket's objects, as the processor writes them and the transcripts
function reads them: clips and transcript files with their presigned URLs, and the
utterance records under each session's prefix (keys: shared/resources.py)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
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
