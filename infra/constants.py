"""Names, sizes and limits of every deployed resource, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
SHARED_CODE_DIR = LAMBDAS_DIR / "shared"
FFMPEG_LAYER_DIR = ROOT / "layers" / "ffmpeg"
FFMPEG_SCRIPT = ROOT / "scripts" / "download-ffmpeg.sh"

PROJECT = "low-latency-translate"
ENVIRONMENTS = ("dev", "prod")

RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_PYTHON_VERSION = "3.14"
ARCHITECTURE = lambda_.Architecture.X86_64
PIP_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
FFMPEG_ARCH = "x86_64"

# Function base names; deployed as "<base>-<env>" (see lambdas/shared/resources.py).
CONNECTION_HANDLER = "connection-handler"
AUTHORIZER = "connect-authorizer"
CHUNK_WRITER = "chunk-writer"
S3_AUDIO_CONSUMER = "s3-audio-consumer"
AUDIO_PROCESSOR = "audio-processor"


@dataclass(frozen=True)
class FunctionSize:
    memory_mb: int
    timeout: Duration
    ephemeral_mb: int = 512


SIZES = {
    CONNECTION_HANDLER: FunctionSize(memory_mb=512, timeout=Duration.seconds(10)),
    AUTHORIZER: FunctionSize(memory_mb=256, timeout=Duration.seconds(5)),
    CHUNK_WRITER: FunctionSize(memory_mb=256, timeout=Duration.seconds(10)),
    # ffmpeg decode plus S3 reads: measured at ~0.1 s per 3 s batch; 60 s leaves room
    # for waiting on a missing chunk and for retries.
    S3_AUDIO_CONSUMER: FunctionSize(memory_mb=1024, timeout=Duration.seconds(60), ephemeral_mb=2048),
    AUDIO_PROCESSOR: FunctionSize(memory_mb=1024, timeout=Duration.seconds(60)),
}

# Asynchronous invocations. A live clip is worth nothing after a minute, so the
# processor gives up early; chunk writes are idempotent and worth retrying.
ASYNC_RETRIES = {CHUNK_WRITER: 2, S3_AUDIO_CONSUMER: 2, AUDIO_PROCESSOR: 1}
ASYNC_MAX_EVENT_AGE = {
    CHUNK_WRITER: Duration.minutes(5),
    S3_AUDIO_CONSUMER: Duration.minutes(5),
    AUDIO_PROCESSOR: Duration.seconds(60),
}
FAILURE_QUEUE_RETENTION = Duration.days(14)

LOG_RETENTION = {"dev": logs.RetentionDays.ONE_WEEK, "prod": logs.RetentionDays.ONE_MONTH}

# Buckets hold live audio only: a day is enough to debug a session.
OBJECT_EXPIRATION = Duration.days(1)
PRESIGNED_URL_EXPIRATION_SECONDS = 600

# WebSocket API
ROUTE_SELECTION_EXPRESSION = "$request.body.action"
CLIENT_ACTIONS = (
    "createSession",
    "joinSession",
    "switchLanguage",
    "audioChunk",
    "pauseBroadcast",
    "resumeBroadcast",
    "endSession",
    "heartbeat",
)
# A speaker sends ~4 chunks/s; 500 listeners join within a minute at most.
STAGE_THROTTLE_RATE = {"dev": 200, "prod": 2000}
STAGE_THROTTLE_BURST = {"dev": 400, "prod": 4000}

SESSION_TTL_HOURS = 4
CONNECTION_TTL_HOURS = 3  # API Gateway closes connections after 2 h

# Apps that may fetch translated clips (CORS) unless overridden by context "appOrigins".
DEFAULT_APP_ORIGINS = {
    "dev": ("http://localhost:8080", "http://127.0.0.1:8080", "http://localhost:5173"),
    "prod": (),
}

ALARM_EVALUATION_PERIOD = Duration.minutes(5)

# Feature flags live in code, not cdk.json, so that `python app.py`, the CDK CLI and
# the tests synthesize the same templates.
FEATURE_FLAGS = {
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/core:checkSecretUsage": True,
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/aws-s3:createDefaultLoggingPolicy": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-iam:standardizedServicePrincipals": True,
    "@aws-cdk/core:enablePartitionLiterals": True,
    # AudioTranscription imports the stage and tables; CloudFormation must refuse to
    # delete an export that the other stack still uses.
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


# Optional speech tuning: CDK context key -> audio_processor environment variable.
SPEECH_TUNING_CONTEXT = {
    "transcribeVocabulary": "TRANSCRIBE_VOCABULARY_NAME",
    "transcribePartialStability": "TRANSCRIBE_PARTIAL_STABILITY",
    "translateTerminologies": "TRANSLATE_TERMINOLOGY_NAMES",
}
