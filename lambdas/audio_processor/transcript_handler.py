"""transcripts: {sessionId, language, connectionId} from the connection handler (which
checked who may have which transcript) -> the transcript files, and a `transcriptReady`
(or a NO_TRANSCRIPT error) to that connection."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audio_processor.aws_stores import S3ClipStore, S3UtteranceRecords
from audio_processor.transcripts import TranscriptService
from shared import env_names
from shared.config import env_int, env_str
from shared.notifier import Notifier
from shared.protocol import ErrorCode, error_message, transcript_ready

logger = Logger()
metrics = Metrics()


class TranscriptRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    session_id: str = Field(alias="sessionId", min_length=1, max_length=64)
    language: str = Field(min_length=2, max_length=8)
    connection_id: str = Field(alias="connectionId", min_length=1, max_length=128)


@dataclass(frozen=True)
class Runtime:
    service: TranscriptService
    notifier: Any


def build_runtime(s3: Any, management: Any, bucket: str, url_seconds: int) -> Runtime:
    files = S3ClipStore(s3, bucket, url_seconds)
    service = TranscriptService(S3UtteranceRecords(s3, bucket), files, url_seconds, time.time)
    return Runtime(service=service, notifier=Notifier(management, max_workers=1))


@cache
def _runtime() -> Runtime:
    management = boto3.client("apigatewaymanagementapi", endpoint_url=env_str(env_names.API_GATEWAY_ENDPOINT))
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    return build_runtime(
        s3, management, env_str(env_names.S3_BUCKET_NAME), env_int(env_names.PRESIGNED_URL_EXPIRATION, 600)
    )


def answer(runtime: Runtime, request: TranscriptRequest) -> dict[str, Any]:
    ready = runtime.service.prepare(request.session_id, request.language)
    if ready is None:
        return error_message(
            ErrorCode.NO_TRANSCRIPT,
            f"nothing has been said in {request.language} in this session yet",
            action="getTranscript",
            sessionId=request.session_id,
            language=request.language,
        )
    return transcript_ready(ready.session_id, ready.language, ready.urls, ready.expires_at, ready.utterances)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = TranscriptRequest.model_validate(event)
    except ValidationError as error:
        logger.error("invalid transcript request", extra={"problems": str(error)})
        return {"outcome": "invalid"}
    runtime = _runtime()
    message = answer(runtime, request)
    runtime.notifier.send(request.connection_id, message)
    metrics.add_metric(name="TranscriptsServed", unit=MetricUnit.Count, value=int(message["type"] != "error"))
    return {"outcome": message["type"], "utterances": message.get("utterances", 0)}
