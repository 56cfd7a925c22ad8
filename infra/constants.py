"""The stacks' own settings: the runtime and platform, throttles, alarms, log retention,
reserved concurrency, what the stacks pass to the functions in their environment (the
fan-out's page size), and the CDK forms (Durations) of the functions' table. The names,
keys and limits the functions share with the stacks are defined in lambdas/shared/
(functions.py, resources.py, env_names.py, protocol.py) and only read here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from lambdas.deployment import env_names, functions
from lambdas.shared import protocol, resources

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
# The packages bundled into every function besides its own: the contracts (shared), delivery
# to the connections, and the deployment facts the functions read.
SHARED_CODE_DIRS = tuple(LAMBDAS_DIR / name for name in ("shared", "delivery", "deployment"))
FFMPEG_LAYER_DIR = ROOT / "layers" / "ffmpeg"
FFMPEG_SCRIPT = ROOT / "scripts" / "download-ffmpeg.sh"

PROJECT = "low-latency-translate"
ENVIRONMENTS = ("dev", "prod")

RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_PYTHON_VERSION = "3.14"
ARCHITECTURE = lambda_.Architecture.X86_64
PIP_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
FFMPEG_ARCH = "x86_64"

# Function base names; deployed as "<base>-<env>" (see lambdas/shared/resources.py). Names,
# handlers, sizes and retries are in lambdas/deployment/functions.py, shared with the local runner.
CONNECTION_HANDLER = functions.CONNECTION_HANDLER.base_name
AUTHORIZER = functions.AUTHORIZER.base_name
CHUNK_WRITER = functions.CHUNK_WRITER.base_name
S3_AUDIO_CONSUMER = functions.S3_AUDIO_CONSUMER.base_name
AUDIO_PROCESSOR = functions.AUDIO_PROCESSOR.base_name
SESSION_TIMER = functions.SESSION_TIMER.base_name
TRANSCRIPTS = functions.TRANSCRIPTS.base_name
FANOUT = functions.FANOUT.base_name


@dataclass(frozen=True)
class FunctionSize:
    memory_mb: int
    timeout: Duration
    ephemeral_mb: int = 512


SIZES = {
    f.base_name: FunctionSize(f.memory_mb, Duration.seconds(f.timeout_seconds), f.ephemeral_mb)
    for f in functions.ALL
}

# Delivery of one clip to every listener of its language (delivery/fanout.py): the
# processor posts the first page, a synchronous fan-out invocation each further page.
FANOUT_PAGE_SIZE = 1000
FANOUT_IN_FLIGHT = 250

# Reserved concurrency keeps the connection path (joins, audio chunks) answering when
# the speech path surges: the audio functions cannot take these executions away.
# It is also a cap: beyond it the function is throttled, so size it above the peak
# (a speaker sends ~4 chunks/s, each a short handler invocation).
# Reserved executions come out of the account's concurrency limit (1,000 by default),
# and Lambda keeps at least 100 of it unreserved; dev and prod in one account reserve
# both sets. New accounts may have a much lower limit, and the deploy then fails:
# pass -c reservedConcurrency=false to deploy without reservations.
# The transcripts function's reservation is its ceiling: downloads queue (asynchronous
# invocations are retried for TRANSCRIPTS' event age) rather than take the unreserved
# executions the live speech path runs on. The budget: docs/ARCHITECTURE.md §12.
RESERVED_CONCURRENCY = {
    CONNECTION_HANDLER: {"dev": 50, "prod": 300},
    AUTHORIZER: {"dev": 20, "prod": 100},
    TRANSCRIPTS: {"dev": 2, "prod": 10},
}

# Asynchronous invocations. A live clip is worth nothing after a minute, so the
# processor gives up early; chunk writes are idempotent and worth retrying.
# A session worker is never retried: a retry of the same generation can never claim the
# lease, and a crashed worker is replaced from its checkpoint by the chunk writer's next
# kick. A worker event older than a minute is stale for the same reason.
ASYNC_RETRIES = {f.base_name: f.async_retries for f in functions.ALL if f.async_retries is not None}
ASYNC_MAX_EVENT_AGE = {
    CHUNK_WRITER: Duration.minutes(5),
    S3_AUDIO_CONSUMER: Duration.seconds(60),
    AUDIO_PROCESSOR: Duration.seconds(60),
    TRANSCRIPTS: Duration.minutes(2),  # someone is waiting for the download
}
FAILURE_QUEUE_RETENTION = Duration.days(14)

LOG_RETENTION = {"dev": logs.RetentionDays.ONE_WEEK, "prod": logs.RetentionDays.ONE_MONTH}

# Buckets hold live audio only: a day is enough to debug a session.
OBJECT_EXPIRATION = Duration.days(1)
PRESIGNED_URL_EXPIRATION_SECONDS = 600

# WebSocket API
ROUTE_SELECTION_EXPRESSION = "$request.body.action"
CLIENT_ACTIONS = protocol.CLIENT_ACTIONS
# A speaker sends ~4 chunks/s; 500 listeners join within a minute at most.
STAGE_THROTTLE_RATE = {"dev": 200, "prod": 2000}
STAGE_THROTTLE_BURST = {"dev": 400, "prod": 4000}


# Apps that may fetch translated clips (CORS) unless overridden by context "appOrigins".
DEFAULT_APP_ORIGINS = {
    "dev": ("http://localhost:8080", "http://127.0.0.1:8080", "http://localhost:5173"),
    "prod": (),
}

# Speaker reconnection: a speaker who disconnects leaves the session suspended for
# SPEAKER_GRACE_SECONDS (CDK context "speakerGraceSeconds"); a message delayed that long
# on the session-timers queue ends the session unless the speaker has resumed.
SPEAKER_GRACE_SECONDS = 120
SQS_MAX_DELAY_SECONDS = 900  # the longest DelaySeconds SQS accepts
# Environment variables not yet in lambdas/deployment/env_names.py.
SESSION_TIMER_QUEUE_PATTERN = "session-timers-{env}"
SESSION_TIMER_BATCH_SIZE = 10
SESSION_TIMER_MAX_RECEIVES = 5  # then the dead-letter queue (AWS suggests >= 5 behind a Lambda trigger)
# AWS's advice for SQS event sources: visibility timeout at least 6x the function timeout.
SESSION_TIMER_VISIBILITY_FACTOR = 6
# A session lasts at most SESSION_MAX_SECONDS; older timers are moot.
SESSION_TIMER_RETENTION = Duration.seconds(resources.SESSION_MAX_SECONDS)

ALARM_EVALUATION_PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class MetricAlarmSpec:
    """An alarm on a Powertools EMF metric: namespace PROJECT, dimension service=<base name>,
    Sum over ALARM_EVALUATION_PERIOD >= threshold."""

    service: str  # function base name, which is its POWERTOOLS_SERVICE_NAME
    metric_name: str
    threshold: float
    reason: str


# Handled failures: the functions catch these, so they never show as Lambda Errors.
HANDLED_FAILURE_ALARMS = (
    MetricAlarmSpec(
        CONNECTION_HANDLER,
        "InternalErrors",
        1,
        "an action failed unexpectedly and was not applied; any one is a bug or an outage",
    ),
    MetricAlarmSpec(
        S3_AUDIO_CONSUMER,
        "DecodeFailures",
        1,
        "ffmpeg could not decode a speaker's audio; that audio is lost for every listener",
    ),
    MetricAlarmSpec(
        S3_AUDIO_CONSUMER,
        "ChunkGaps",
        3,
        "audio was skipped after waiting for missing chunks; one gap is a network blip, three a pattern",
    ),
    MetricAlarmSpec(
        CHUNK_WRITER,
        "RejectedChunks",
        1,
        "a chunk the connection handler passed on was refused and not stored; any one is a bug",
    ),
    MetricAlarmSpec(
        S3_AUDIO_CONSUMER,
        "TranscribeFailures",
        1,
        "a session's Transcribe stream failed; its worker stopped and the next chunk starts a "
        "replacement from the checkpoint, so listeners wait while it catches up",
    ),
    MetricAlarmSpec(
        AUDIO_PROCESSOR,
        "TranslationFailures",
        3,
        "languages left without a clip after retries (counted per language); three in 5 minutes "
        "is more than a transient error",
    ),
    MetricAlarmSpec(
        SESSION_TIMER,
        "MalformedTimers",
        1,
        "a timer message was dropped unread, so its session stays suspended; any one is a bug",
    ),
)

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


# Optional translation tuning: CDK context key -> audio_processor environment variable.
TRANSLATION_TUNING_CONTEXT = {
    "translateTerminologies": "TRANSLATE_TERMINOLOGY_NAMES",
}

# The session's streaming worker (s3-audio-consumer), read by
# lambdas/s3_audio_consumer/wiring.py (WorkerConfig.from_env).
RECOGNIZER = env_names.AWS_ADAPTERS  # Amazon Transcribe streaming; the local runner plugs in its own
SEGMENT_MS = 600  # PCM segment fed to the stream: one ffmpeg run each
# Partial-results stabilization must stay on: the utterance cutter works on stable words.
# CDK context "transcribePartialStability".
TRANSCRIBE_PARTIAL_STABILITIES = ("low", "medium", "high")
TRANSCRIBE_PARTIAL_STABILITY = "high"
# A worker hands over to its successor after this long (CDK context "workerHandoverSeconds").
# The handler stops 60 s before the function's timeout (900 s); a handover may wait 30 s
# for a pause in speech and 10 s for the stream to close: 900 - 60 - 30 - 10 = 800.
WORKER_HANDOVER_SECONDS = 720
WORKER_HANDOVER_MIN_SECONDS = 60
WORKER_HANDOVER_MAX_SECONDS = 800
# Environment variables not yet in lambdas/deployment/env_names.py.
