"""Replays recorded MediaRecorder chunks through the real chunk writer and consumer.

S3 and DynamoDB are moto in process; audio_processor invocations are captured."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from chunk_writer.writer import ChunkWriter
from local.paths import ffmpeg_path
from local.resources import create_sessions_table
from s3_audio_consumer.adapters import DynamoCursorStore
from s3_audio_consumer.batcher import Batch, Batcher, BatchSettings, Listing
from s3_audio_consumer.decoder import FfmpegDecoder
from shared import resources
from shared.chunk_events import ChunkEvent, EndOfStreamEvent

BUCKET = "replay-chunks"
TABLE = resources.SESSIONS_TABLE_PATTERN.format(env="replay")


class S3ChunkStore:
    """Chunks found by LISTing the session's prefix: the replay's and the bench's store
    (the worker reads chunks by key, s3_audio_consumer/keyed_chunks.py)."""

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


def load_chunks(chunk_dir: Path) -> list[bytes]:
    files = sorted(chunk_dir.glob("chunk-*.webm"))
    if not files:
        raise FileNotFoundError(f"no chunk-NNNN.webm files in {chunk_dir}")
    return [f.read_bytes() for f in files]


def create_resources(session: boto3.Session, session_id: str, source_language: str) -> tuple[Any, Any]:
    s3 = session.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    dynamodb = session.resource("dynamodb", region_name="us-east-1")
    table = create_sessions_table(dynamodb, TABLE)
    table.put_item(Item={"sessionId": session_id, "sourceLanguage": source_language, "status": "active"})
    return s3, table


@dataclass
class Replay:
    """One session's pipeline up to the audio_processor invocation."""

    s3: Any
    table: Any
    session_id: str
    settings: BatchSettings
    batches: list[Batch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer = ChunkWriter(self.s3, BUCKET)
        self.batcher = self.new_batcher()

    def new_batcher(self) -> Batcher:
        """A consumer instance, as a separate concurrent Lambda would be."""
        return Batcher(
            cursors=DynamoCursorStore(self.table),
            chunks=S3ChunkStore(self.s3, BUCKET),
            decoder=FfmpegDecoder(ffmpeg_path()),
            deliver=self.batches.append,
            settings=self.settings,
            clock=time.time,
        )

    def store(self, seq: int, chunk: bytes) -> None:
        self.writer.write(ChunkEvent(self.session_id, seq, base64.b64encode(chunk).decode()).payload())

    def end(self, final_seq: int) -> None:
        self.writer.write(EndOfStreamEvent(self.session_id, final_seq).payload())

    def event(self, batcher: Batcher | None = None) -> int:
        return (batcher or self.batcher).advance(self.session_id)


def replay_in_order(
    chunks: Iterable[bytes], session_id: str = "steady-river-1234", target_ms: int = 3000
) -> list[Batch]:
    with mock_aws():
        session = boto3.Session(
            aws_access_key_id="replay", aws_secret_access_key="replay", region_name="us-east-1"
        )
        s3, table = create_resources(session, session_id, "en")
        replay = Replay(s3, table, session_id, BatchSettings(target_ms=target_ms, gap_wait_seconds=0.0))
        last = -1
        for seq, chunk in enumerate(chunks):
            replay.store(seq, chunk)
            replay.event()
            last = seq
        replay.end(last)
        replay.event()
        return sorted(replay.batches, key=lambda b: b.index)
