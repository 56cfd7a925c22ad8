"""chunk_writer: async-invoked by connection_handler for each audioChunk."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chunk_writer.writer import ChunkWriter, RejectedChunk
from shared import env_names
from shared.config import env_str

logger = Logger()
metrics = Metrics()


@cache
def _writer() -> ChunkWriter:
    return ChunkWriter(s3=boto3.client("s3"), bucket=env_str(env_names.CHUNK_BUCKET))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    logger.append_keys(sessionId=event.get("sessionId"), seq=event.get("seq"))
    try:
        key = _writer().write(event)
    except RejectedChunk as error:
        # Not raised: a retry would reject it again; the session goes on without it.
        logger.error("chunk rejected", extra={"reason": str(error)})
        metrics.add_metric(name="RejectedChunks", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "reason": str(error)}
    metrics.add_metric(name="ChunksWritten", unit=MetricUnit.Count, value=1)
    return {"status": "stored", "key": key}
