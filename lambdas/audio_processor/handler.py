"""audio_processor: one PCM batch from s3_audio_consumer -> captions and clips for listeners.

Validates the payload, runs the pipeline once per (sessionId, index) under Powertools
idempotency, and turns the pipeline's report into logs and metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.config import Config
from pydantic import ValidationError

from audio_processor.aws_stores import (
    DynamoDeliveryLedger,
    DynamoListenerDirectory,
    DynamoSessionDirectory,
    S3ClipStore,
    S3UtteranceRecords,
)
from audio_processor.config import ProcessorConfig
from audio_processor.engines import build_engines
from audio_processor.model import PcmBatch
from audio_processor.pipeline import Engines, PipelineSettings, SpeechPipeline, Stores
from audio_processor.ports import Sender
from audio_processor.retry import Deadline, RetryPolicy
from shared.audience import Audience
from shared.fanout import LambdaPageInvoker, PagedFanout, SignedPoster

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger)

STAGE_METRICS = {
    "transcribe": "TranscribeMs",
    "translate": "TranslateMs",
    "synthesize": "SynthesizeMs",
    "store": "StoreMs",
    "deliver": "DeliverMs",
    "total": "BatchMs",
}
COUNT_METRICS = {
    "clips": "Clips",
    "messagesSent": "MessagesSent",
    "listenersRemoved": "StaleConnectionsRemoved",
    "retries": "Retries",
}
OUTCOME_METRICS = {
    "silent": "SilentBatches",
    "empty": "EmptyTranscripts",
    "transcribe_failed": "TranscribeFailures",
}


@dataclass(frozen=True)
class Runtime:
    run: Callable[..., dict[str, Any]]
    idempotency: IdempotencyConfig
    deadline_margin_seconds: float


def build_sender(config: ProcessorConfig) -> PagedFanout:
    """Posts the first page of a clip's listeners from here, further pages from parallel
    invocations of the fan-out function (shared.fanout)."""
    poster = SignedPoster(
        config.management_endpoint,
        config.region,
        boto3.Session().get_credentials,
        in_flight=config.fanout_in_flight,
    )
    invoker = None
    if config.fanout_function:
        # A page is ~0.2 s of posts: the default pool of 10 would make pages wait.
        lambda_client = boto3.client("lambda", config=Config(max_pool_connections=32))
        invoker = LambdaPageInvoker(lambda_client, config.fanout_function)
    return PagedFanout(poster, invoker, page_size=config.fanout_page_size)


def build_pipeline(
    config: ProcessorConfig,
    *,
    engines: Engines | None = None,
    sender: Sender | None = None,
    retry: RetryPolicy | None = None,
    settings: PipelineSettings | None = None,
) -> SpeechPipeline:
    """The AWS wiring; tests and the local runner replace what talks to the network."""
    dynamodb = boto3.resource("dynamodb")
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    connections = dynamodb.Table(config.connections_table)
    sessions = dynamodb.Table(config.sessions_table)
    stores = Stores(
        clips=S3ClipStore(s3, config.bucket, config.url_seconds),
        listeners=DynamoListenerDirectory(connections, Audience(sessions, connections, time.time)),
        sessions=DynamoSessionDirectory(sessions),
        ledger=DynamoDeliveryLedger(dynamodb.Table(config.idempotency_table), clock=time.time),
        sender=sender or build_sender(config),
        records=S3UtteranceRecords(s3, config.bucket),
    )
    return SpeechPipeline(
        # SDK retries off: retries are ours, bounded by the invocation's deadline.
        engines=engines or build_engines(config, Config(retries={"total_max_attempts": 1})),
        stores=stores,
        retry=retry or RetryPolicy(),
        settings=settings
        or PipelineSettings(url_seconds=config.url_seconds, silence_dbfs=config.silence_dbfs),
    )


def build_runtime(config: ProcessorConfig, pipeline: SpeechPipeline) -> Runtime:
    """Wraps the pipeline in Powertools idempotency keyed on (sessionId, index)."""
    idempotency = IdempotencyConfig(
        event_key_jmespath="[sessionId, index]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=3600,
    )
    persistence = DynamoDBPersistenceLayer(table_name=config.idempotency_table)

    @idempotent_function(data_keyword_argument="key", persistence_store=persistence, config=idempotency)
    def process_batch(
        key: dict[str, Any], batch: PcmBatch, deadline: Deadline, request_id: str
    ) -> dict[str, Any]:
        report = pipeline.process(batch, deadline)
        report.request_id = request_id
        return report.as_dict()

    return Runtime(
        run=process_batch, idempotency=idempotency, deadline_margin_seconds=config.deadline_margin_seconds
    )


@cache
def _runtime() -> Runtime:
    """Built once per cold start; clients and engines are reused by warm invocations."""
    config = ProcessorConfig.from_env()
    return build_runtime(config, build_pipeline(config))


def record_metrics(report: dict[str, Any]) -> None:
    for stage, name in STAGE_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=report["timesMs"][stage])
    for field, name in COUNT_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=report[field])
    metrics.add_metric(
        name="TranslationFailures", unit=MetricUnit.Count, value=len(report["failedLanguages"])
    )
    if report["outcome"] in OUTCOME_METRICS:
        metrics.add_metric(name=OUTCOME_METRICS[report["outcome"]], unit=MetricUnit.Count, value=1)
    for fit in report.get("fits", {}).values():  # one value per clip: clip length / source length
        metrics.add_metric(name="ClipFitRatio", unit=MetricUnit.NoUnit, value=fit["ratio"])
        metrics.add_metric(name="ClipNaturalRatio", unit=MetricUnit.NoUnit, value=fit["naturalRatio"])


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        batch = PcmBatch.model_validate(event)
    except ValidationError as error:
        # A retry cannot fix a malformed payload: log it, count it, and move on.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        logger.error("invalid batch payload", extra={"problems": problems})
        metrics.add_metric(name="InvalidBatches", unit=MetricUnit.Count, value=1)
        return {"outcome": "invalid", "problems": problems}
    logger.append_keys(sessionId=batch.session_id, index=batch.index)
    runtime = _runtime()
    runtime.idempotency.register_lambda_context(context)
    deadline = Deadline(
        remaining=lambda: context.get_remaining_time_in_millis() / 1000,
        margin_seconds=runtime.deadline_margin_seconds,
    )
    try:
        report = runtime.run(
            key={"sessionId": batch.session_id, "index": batch.index},
            batch=batch,
            deadline=deadline,
            request_id=context.aws_request_id,
        )
    except IdempotencyAlreadyInProgressError:
        logger.info("this batch is being processed by another invocation")
        metrics.add_metric(name="DuplicateInvocations", unit=MetricUnit.Count, value=1)
        return {"outcome": "in_progress", "sessionId": batch.session_id, "index": batch.index}
    if report["requestId"] != context.aws_request_id:
        logger.info("this batch was already processed; nothing is sent again")
        metrics.add_metric(name="DuplicateInvocations", unit=MetricUnit.Count, value=1)
        return {**report, "outcome": "duplicate"}
    # The text itself stays out of the logs: talks may be confidential.
    logger.info("batch processed", extra={"report": {k: v for k, v in report.items() if k != "sourceText"}})
    record_metrics(report)
    return report
