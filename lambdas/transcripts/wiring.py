"""Builds the transcripts function's runtime once per cold start: the service over the
translation bucket and the notifier that answers the asking connection. Tests build their
own and pass it to the handler."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from delivery.notifier import Notifier
from deployment import env_names
from deployment.config import env_int, env_str
from shared.translation_bucket import S3ClipStore, S3UtteranceRecords
from transcripts.service import TranscriptService


@dataclass(frozen=True)
class TranscriptsRuntime:
    service: TranscriptService
    notifier: Notifier


def build_transcripts_runtime(s3: Any, management: Any, bucket: str, url_seconds: int) -> TranscriptsRuntime:
    files = S3ClipStore(s3, bucket, url_seconds)
    service = TranscriptService(S3UtteranceRecords(s3, bucket), files, url_seconds, time.time)
    return TranscriptsRuntime(service=service, notifier=Notifier(management, max_workers=1))


@cache
def transcripts_runtime() -> TranscriptsRuntime:
    management = boto3.client("apigatewaymanagementapi", endpoint_url=env_str(env_names.API_GATEWAY_ENDPOINT))
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    return build_transcripts_runtime(
        s3, management, env_str(env_names.S3_BUCKET_NAME), env_int(env_names.PRESIGNED_URL_EXPIRATION, 600)
    )
