"""chunk_writer: async-invoked by connection_handler for each audioChunk (and the end
marker); stores it, then makes sure the session's streaming worker runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chunk_writer.kick import WorkerKick
from chunk_writer.writer import ChunkWriter, RejectedChunk
from shared import env_names
from shared.config import env_str

logger = Logger()
metrics = Metrics()


@dataclass(frozen=True)
class Runtime:
    writer: ChunkWriter
    kick: WorkerKick


@cache
def _runtime() -> Runtime:
    return Runtime(
        writer=ChunkWriter(s3=boto3.client("s3"), bucket=env_str(env_names.CHUNK_BUCKET)),
        kick=WorkerKick(
            sessions_table=boto3.resource("dynamodb").Table(env_str(env_names.SESSIONS_TABLE)),
            lambda_client=boto3.client("lambda"),
            worker_function=env_str(env_names.AUDIO_CONSUMER_FUNCTION),
            clock=time.time,
        ),
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(sessionId=event.get("sessionId"), seq=event.get("seq"))
    runtime = _runtime()
    try:
        key = runtime.writer.write(event)
    except RejectedChunk as error:
        # Not raised: a retry would reject it again; the session goes on without it.
        logger.error("chunk rejected", extra={"reason": str(error)})
        metrics.add_metric(name="RejectedChunks", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "reason": str(error)}
    metrics.add_metric(name="ChunksWritten", unit=MetricUnit.Count, value=1)
    started = runtime.kick(str(event["sessionId"]))
    if started is not None:
        logger.info("started the session's worker", extra={"generation": started})
        metrics.add_metric(name="WorkersStarted", unit=MetricUnit.Count, value=1)
    return {"status": "stored", "key": key, "workerStarted": started}
