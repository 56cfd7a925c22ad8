"""s3_audio_consumer: S3 ObjectCreated events for chunks -> PCM batches -> audio_processor."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from s3_audio_consumer.adapters import (
    DynamoCursorStore,
    LambdaProcessorInvoker,
    S3ChunkStore,
    parse_chunk_key,
)
from s3_audio_consumer.batcher import Batcher, BatchSettings
from s3_audio_consumer.decoder import FfmpegDecoder
from shared import env_names
from shared.config import env_float, env_int, env_str

logger = Logger()
metrics = Metrics()


@dataclass(frozen=True)
class ConsumerConfig:
    chunk_bucket: str
    sessions_table: str
    processor_function: str
    ffmpeg_path: str
    batch_target_ms: int
    gap_wait_seconds: float
    init_wait_seconds: float

    @classmethod
    def from_env(cls) -> ConsumerConfig:
        return cls(
            chunk_bucket=env_str(env_names.CHUNK_BUCKET),
            sessions_table=env_str(env_names.SESSIONS_TABLE),
            processor_function=env_str(env_names.AUDIO_PROCESSOR_FUNCTION),
            ffmpeg_path=env_str(env_names.FFMPEG_PATH, "/opt/bin/ffmpeg"),
            batch_target_ms=env_int("BATCH_TARGET_MS", 3000),
            gap_wait_seconds=env_float("GAP_WAIT_SECONDS", 2.0),
            init_wait_seconds=env_float("INIT_WAIT_SECONDS", 30.0),
        )


@cache
def _batcher() -> Batcher:
    """Built once per cold start; clients are reused by warm invocations."""
    config = ConsumerConfig.from_env()
    return Batcher(
        cursors=DynamoCursorStore(boto3.resource("dynamodb").Table(config.sessions_table)),
        chunks=S3ChunkStore(boto3.client("s3"), config.chunk_bucket),
        decoder=FfmpegDecoder(config.ffmpeg_path),
        deliver=LambdaProcessorInvoker(boto3.client("lambda"), config.processor_function),
        settings=BatchSettings(
            target_ms=config.batch_target_ms,
            gap_wait_seconds=config.gap_wait_seconds,
            init_wait_seconds=config.init_wait_seconds,
        ),
        clock=time.time,
        sleep=time.sleep,
    )


# Left of the function timeout after advance's deadline: one decode, claim and invoke.
DEADLINE_MARGIN_SECONDS = 5.0


def deadline_of(context: Any) -> float | None:
    """Epoch seconds by which advance must be done; None (advance never sleeps) for a
    context that does not tell its remaining time."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.time() + remaining() / 1000 - DEADLINE_MARGIN_SECONDS


def sessions_in(event: dict[str, Any]) -> list[str]:
    """Session ids named by the event's chunk records, each once, in first-seen order."""
    found: dict[str, None] = {}
    for record in event.get("Records", []):
        key = unquote_plus(record.get("s3", {}).get("object", {}).get("key", ""))
        parsed = parse_chunk_key(key)
        if parsed is None:
            logger.warning("ignored a record that is not a chunk", extra={"key": key})
            continue
        found[parsed[0]] = None
    return list(found)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """A failed hand-off (the claim is rolled back) or work left at the deadline raises,
    so that Lambda retries the event; a retry redoes only what is not claimed yet."""
    batcher = _batcher()
    counters = batcher.counters
    before = (counters.batches, counters.gaps, counters.decode_failures)
    deadline = deadline_of(context)
    handed = 0
    try:
        for session_id in sessions_in(event):
            logger.append_keys(sessionId=session_id)
            handed += batcher.advance(session_id, deadline=deadline)
    finally:
        after = (counters.batches, counters.gaps, counters.decode_failures)
        metrics.add_metric(name="BatchesHandedOn", unit=MetricUnit.Count, value=after[0] - before[0])
        metrics.add_metric(name="ChunkGaps", unit=MetricUnit.Count, value=after[1] - before[1])
        metrics.add_metric(name="DecodeFailures", unit=MetricUnit.Count, value=after[2] - before[2])
    return {"batches": handed}
