"""Builds the worker's runtime (clients, stores, recognizer, config) once per cold start."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3

from delivery.notifier import Notifier
from deployment import env_names
from deployment.config import ConfigError, env_float, env_int, env_str
from s3_audio_consumer.adapters import DynamoCursorStore
from s3_audio_consumer.decoder import FfmpegDecoder
from s3_audio_consumer.keyed_chunks import KeyedChunkStore
from s3_audio_consumer.lease import DynamoLease
from s3_audio_consumer.planner import Batch, PlanSettings
from s3_audio_consumer.recognition import Recognizer
from s3_audio_consumer.segmenter import Segmenter
from s3_audio_consumer.utterances import Utterance
from s3_audio_consumer.worker import SessionWorker, TrackedCursors, WorkerSettings
from shared.audio_unit import ClauseUnit, UtteranceUnit
from shared.worker_kick import LEASE_MS, WorkerStart

AWS_RECOGNIZER = env_names.AWS_ADAPTERS


@dataclass(frozen=True)
class WorkerConfig:
    chunk_bucket: str
    sessions_table: str
    processor_function: str
    undelivered_queue_url: str
    ffmpeg_path: str
    recognizer: str  # "aws", or "module:factory" (the local runner's offline recognizer)
    region: str
    vocabulary: str | None
    stability: str
    segment_ms: int
    gap_wait_seconds: float
    init_wait_seconds: float
    handover_after_seconds: float
    # Only for an endpoint other than AWS's (the local Transcribe endpoint) and its CA.
    transcribe_endpoint: str | None = None
    ca_bundle: str | None = None
    # The WebSocket stage's management endpoint: the speaker's live words go there. None:
    # no partial transcripts (provisional captions still go through the processor).
    management_endpoint: str | None = None

    @classmethod
    def from_env(cls) -> WorkerConfig:
        recognizer = env_str(env_names.RECOGNIZER, AWS_RECOGNIZER)
        if recognizer != AWS_RECOGNIZER and ":" not in recognizer:
            raise ConfigError(f"RECOGNIZER must be 'aws' or 'module:factory', got {recognizer!r}")
        return cls(
            chunk_bucket=env_str(env_names.CHUNK_BUCKET),
            sessions_table=env_str(env_names.SESSIONS_TABLE),
            processor_function=env_str(env_names.AUDIO_PROCESSOR_FUNCTION),
            undelivered_queue_url=env_str(env_names.UNDELIVERED_QUEUE_URL),
            ffmpeg_path=env_str(env_names.FFMPEG_PATH, "/opt/bin/ffmpeg"),
            recognizer=recognizer,
            region=env_str(env_names.AWS_REGION, "us-east-1"),
            vocabulary=env_str(env_names.TRANSCRIBE_VOCABULARY, "") or None,
            stability=env_str(env_names.TRANSCRIBE_PARTIAL_STABILITY, "high"),
            # Short segments keep the recognizer close behind the speaker; each costs one
            # ffmpeg run (~0.1 s of CPU), so ~600 ms is the balance.
            segment_ms=env_int(env_names.SEGMENT_MS, 600),
            gap_wait_seconds=env_float(env_names.GAP_WAIT_SECONDS, 2.0),
            init_wait_seconds=env_float(env_names.INIT_WAIT_SECONDS, 30.0),
            handover_after_seconds=env_float(env_names.WORKER_HANDOVER_SECONDS, 720.0),
            transcribe_endpoint=env_str(env_names.TRANSCRIBE_ENDPOINT, "") or None,
            ca_bundle=env_str(env_names.CA_BUNDLE, "") or None,
            management_endpoint=env_str(env_names.API_GATEWAY_ENDPOINT, "") or None,
        )


def build_recognizer(config: WorkerConfig) -> Recognizer:
    if config.recognizer != AWS_RECOGNIZER:
        module_name, _, factory = config.recognizer.partition(":")
        built: Recognizer = getattr(importlib.import_module(module_name), factory)()
        return built
    # Imported here: it loads awscrt, which only the AWS recognizer needs.
    from s3_audio_consumer.aws_recognizer import AwsRecognizer, StreamSettings
    from s3_audio_consumer.transcribe_sdk import transcribe_client

    def client() -> Any:
        return transcribe_client(config.region, config.transcribe_endpoint, config.ca_bundle)

    return AwsRecognizer(client, StreamSettings(config.vocabulary, config.stability))


def utterance_unit(
    session_id: str, source_language: str, utterance: Utterance, missed_before_ms: int = 0
) -> UtteranceUnit:
    return UtteranceUnit(
        session_id=session_id,
        index=utterance.index,
        start_ms=utterance.start_ms,
        duration_ms=utterance.duration_ms,
        source_language=source_language,
        text=utterance.text,
        missed_before_ms=missed_before_ms,
        provisional=utterance.provisional,
    )


class LambdaUtteranceSink:
    """Hands an utterance to the audio processor, asynchronously."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._client = lambda_client
        self._function = function_name

    def __call__(
        self, session_id: str, source_language: str, utterance: Utterance, missed_before_ms: int = 0
    ) -> None:
        unit = utterance_unit(session_id, source_language, utterance, missed_before_ms)
        self._client.invoke(
            FunctionName=self._function, InvocationType="Event", Payload=json.dumps(unit.payload())
        )


class LambdaLiveSink:
    """The running utterance: the speaker's partial transcript posted to its connection
    (one API Gateway message), each stable clause handed to the processor (an
    asynchronous invoke, as utterances are)."""

    def __init__(self, lambda_client: Any, function_name: str, management: Any | None) -> None:
        self._client = lambda_client
        self._function = function_name
        self._notifier = Notifier(management, max_workers=1) if management is not None else None

    def partial(self, speaker_connection_id: str, message: dict[str, object]) -> None:
        if self._notifier is not None:
            self._notifier.send(speaker_connection_id, dict(message))

    def clause(self, clause: ClauseUnit) -> None:
        self._client.invoke(
            FunctionName=self._function, InvocationType="Event", Payload=json.dumps(clause.payload())
        )


class QueueUndeliveredSink:
    """Keeps an utterance the processor would not take in an SQS queue, in the shape of a
    Lambda on-failure destination record, so that an operator redrives it as one (the
    requestPayload is the processor's event; its ledger makes a redrive deliver once)."""

    def __init__(self, sqs_client: Any, queue_url: str, function_name: str) -> None:
        self._client = sqs_client
        self._queue_url = queue_url
        self._function = function_name

    def __call__(
        self, session_id: str, source_language: str, utterance: Utterance, missed_before_ms: int, error: str
    ) -> None:
        unit = utterance_unit(session_id, source_language, utterance, missed_before_ms)
        record = {
            "requestContext": {"condition": "HandOffFailed", "functionName": self._function},
            "requestPayload": unit.payload(),
            "responsePayload": {"errorType": "HandOffFailed", "errorMessage": error},
        }
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(record))


class LambdaSuccessor:
    """Starts the next worker of a session: this same function, invoked asynchronously."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._client = lambda_client
        self._function = function_name

    def __call__(self, session_id: str, generation: int) -> None:
        payload = WorkerStart(session_id, generation).payload()
        self._client.invoke(FunctionName=self._function, InvocationType="Event", Payload=json.dumps(payload))


@dataclass(frozen=True)
class Runtime:
    worker: SessionWorker


@cache
@dataclass(frozen=True)
class _Shared:
    config: WorkerConfig
    table: Any
    s3: Any
    lambda_client: Any
    sqs: Any
    recognizer: Recognizer
    management: Any | None


def _shared(function_name: str) -> _Shared:
    config = WorkerConfig.from_env()
    table = boto3.resource("dynamodb").Table(config.sessions_table)
    return _Shared(
        config,
        table,
        boto3.client("s3"),
        boto3.client("lambda"),
        boto3.client("sqs"),
        build_recognizer(config),
        boto3.client("apigatewaymanagementapi", endpoint_url=config.management_endpoint)
        if config.management_endpoint
        else None,
    )


def runtime(context: Any) -> Runtime:
    """A worker per invocation (its chunk cache and hints are its own); clients and the
    recognizer are shared by the invocations of one process."""
    function_name = str(getattr(context, "function_name", "s3-audio-consumer"))
    shared = _shared(function_name)
    config, table, s3, lambda_client = shared.config, shared.table, shared.s3, shared.lambda_client
    chunks = KeyedChunkStore(s3, config.chunk_bucket, time.time)
    settings = PlanSettings(
        target_ms=config.segment_ms,
        max_chunks_per_read=chunks.read_ahead,
        gap_wait_seconds=config.gap_wait_seconds,
        init_wait_seconds=config.init_wait_seconds,
    )
    decoder = FfmpegDecoder(config.ffmpeg_path)

    def segmenter(cursors: TrackedCursors, deliver: Callable[[Batch], None]) -> Segmenter:
        return Segmenter(cursors, chunks, decoder, deliver, settings, time.time)

    worker = SessionWorker(
        lease=DynamoLease(table, LEASE_MS),
        cursors=lambda owner: TrackedCursors(DynamoCursorStore(table, owner)),
        segmenter=segmenter,
        hints=chunks.hints,
        recognizer=shared.recognizer,
        sink=LambdaUtteranceSink(lambda_client, config.processor_function),
        undelivered=QueueUndeliveredSink(shared.sqs, config.undelivered_queue_url, config.processor_function),
        successor=LambdaSuccessor(lambda_client, function_name),
        clock=time.time,
        sleep=time.sleep,
        settings=WorkerSettings(handover_after_s=config.handover_after_seconds),
        live=LambdaLiveSink(lambda_client, config.processor_function, shared.management),
    )
    return Runtime(worker=worker)
