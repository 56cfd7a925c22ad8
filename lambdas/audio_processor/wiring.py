"""Builds the audio processor's runtime once per cold start: clients, stores, engines and
config. Tests build their own and pass them to the handler."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.config import Config

from audio_processor.aws_stores import DynamoDeliveryLedger, DynamoListenerDirectory, DynamoSessionDirectory
from audio_processor.config import ProcessorConfig
from audio_processor.engines import build_engines
from audio_processor.pipeline import Engines, PipelineSettings, SpeechPipeline, Stores
from audio_processor.ports import Sender
from audio_processor.provisional import DynamoClauseTranslations, ProvisionalCaptions
from audio_processor.retry import Deadline, RetryPolicy
from delivery.audience import Audience
from delivery.fanout import PagedFanout, build_paged_fanout
from shared.audio_unit import ClauseUnit, UtteranceUnit
from shared.translation_bucket import S3ClipStore, S3UtteranceRecords

IDEMPOTENCY_SECONDS = 3600  # a retry of an utterance comes within minutes, not hours


@dataclass(frozen=True)
class Runtime:
    """The audio processor: the pipeline, run once per (sessionId, index)."""

    run: Callable[..., dict[str, Any]]
    idempotency: IdempotencyConfig
    deadline_margin_seconds: float
    clauses: ProvisionalCaptions | None = None

    def provisional(self, clause: ClauseUnit, context: Any) -> dict[str, Any]:
        """A clause's provisional captions; the ledger and the kept translations make a
        retried invocation post nothing twice (no Powertools record per clause)."""
        if self.clauses is None:
            return {"kind": "clause", "outcome": "disabled"}
        return self.clauses.process(clause, self._deadline(context)).as_dict()

    def _deadline(self, context: Any) -> Deadline:
        return Deadline(
            remaining=lambda: context.get_remaining_time_in_millis() / 1000,
            margin_seconds=self.deadline_margin_seconds,
        )

    def process(self, unit: UtteranceUnit, context: Any) -> dict[str, Any]:
        """The pipeline's report; `outcome` says "in_progress" or "duplicate" when another
        invocation has this utterance or already delivered it (nothing is sent again)."""
        self.idempotency.register_lambda_context(context)
        deadline = self._deadline(context)
        key = {"sessionId": unit.session_id, "index": unit.index}
        try:
            report = self.run(key=key, unit=unit, deadline=deadline, request_id=context.aws_request_id)
        except IdempotencyAlreadyInProgressError:
            return {"outcome": "in_progress", **key}
        if report["requestId"] != context.aws_request_id:
            return {**report, "outcome": "duplicate"}
        return report


def build_sender(config: ProcessorConfig) -> PagedFanout:
    """The first page of a clip's listeners is posted from here, further pages by parallel
    invocations of the fan-out function (delivery.fanout)."""
    # A page is ~0.2 s of posts: the default pool of 10 would make pages wait.
    lambda_client = (
        boto3.client("lambda", config=Config(max_pool_connections=32)) if config.fanout_function else None
    )
    return build_paged_fanout(
        config.management_endpoint,
        config.region,
        boto3.Session().get_credentials,
        lambda_client,
        config.fanout_function,
        in_flight=config.fanout_in_flight,
        page_size=config.fanout_page_size,
    )


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
        clauses=DynamoClauseTranslations(dynamodb.Table(config.idempotency_table)),
    )
    return SpeechPipeline(
        # SDK retries off: retries are ours, bounded by the invocation's deadline.
        engines=engines or build_engines(config, Config(retries={"total_max_attempts": 1})),
        stores=stores,
        retry=retry or RetryPolicy(),
        settings=settings or PipelineSettings(url_seconds=config.url_seconds),
    )


def build_runtime(config: ProcessorConfig, pipeline: SpeechPipeline) -> Runtime:
    """Wraps the pipeline in Powertools idempotency keyed on (sessionId, index)."""
    idempotency = IdempotencyConfig(
        event_key_jmespath="[sessionId, index]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    persistence = DynamoDBPersistenceLayer(table_name=config.idempotency_table)

    @idempotent_function(data_keyword_argument="key", persistence_store=persistence, config=idempotency)
    def process(
        key: dict[str, Any], unit: UtteranceUnit, deadline: Deadline, request_id: str
    ) -> dict[str, Any]:
        report = pipeline.process(unit, deadline)
        report.request_id = request_id
        return report.as_dict()

    return Runtime(
        run=process,
        idempotency=idempotency,
        deadline_margin_seconds=config.deadline_margin_seconds,
        clauses=pipeline.provisional(),
    )


@cache
def runtime() -> Runtime:
    """Built once per cold start; clients and engines are reused by warm invocations."""
    config = ProcessorConfig.from_env()
    return build_runtime(config, build_pipeline(config))
