"""Every Lambda function of the product, once: its base name, handler, size and retries.

No CDK here, so that the stacks (infra/constants.py turns these into CDK sizes), the local
runner (local/runner.py runs the same handlers with the same limits) and the functions
themselves read one table. Deployed names are "<base>-<env>" (resources.function_name)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionInfo:
    base_name: str
    package: str  # folder under lambdas/: the bundle
    handler: str  # "<module>.<function>" inside the bundle
    memory_mb: int
    timeout_seconds: int
    ephemeral_mb: int = 512
    # Retries of an asynchronous invocation; None: invoked synchronously or by an event source.
    async_retries: int | None = None

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def entry(self) -> str:
        return self.handler.rpartition(".")[2]


CONNECTION_HANDLER = FunctionInfo(
    "connection-handler", "connection_handler", "connection_handler.handler.lambda_handler", 512, 10
)
AUTHORIZER = FunctionInfo("connect-authorizer", "authorizer", "authorizer.handler.lambda_handler", 256, 5)
# Chunk writes are idempotent and worth retrying.
CHUNK_WRITER = FunctionInfo(
    "chunk-writer", "chunk_writer", "chunk_writer.handler.lambda_handler", 256, 10, async_retries=2
)
# The session's streaming worker: one Transcribe stream held for up to the handover interval
# plus the handover, and an ffmpeg run (~0.1 s of CPU) per segment of audio. Lambda's limit,
# 900 s: it hands over before that. Never retried: a retry of the same generation can never
# claim the lease, and a crashed worker is replaced from its checkpoint by the next kick.
S3_AUDIO_CONSUMER = FunctionInfo(
    "s3-audio-consumer",
    "s3_audio_consumer",
    "s3_audio_consumer.handler.lambda_handler",
    1024,
    900,
    ephemeral_mb=2048,
    async_retries=0,
)
# A live clip is worth nothing after a minute: one retry.
AUDIO_PROCESSOR = FunctionInfo(
    "audio-processor", "audio_processor", "audio_processor.handler.lambda_handler", 1024, 60, async_retries=1
)
# A few DynamoDB calls and notifications per expired timer, up to 10 timers a batch.
SESSION_TIMER = FunctionInfo(
    "session-timer", "connection_handler", "connection_handler.timers.lambda_handler", 256, 30
)
# Reads ~1,200 records per talk-hour in parallel and writes three small files (srt, webvtt-py).
TRANSCRIPTS = FunctionInfo(
    "transcripts", "transcripts", "transcripts.handler.lambda_handler", 512, 60, async_retries=1
)
# One page of a clip's listeners (FANOUT_PAGE_SIZE posts, FANOUT_IN_FLIGHT at a time): ~0.4 ms
# of CPU a post, so a full vCPU (1,769 MB) posts 1,000 in a few tenths of a second. The same
# sender as the processor's first page (delivery/fanout.py).
FANOUT = FunctionInfo("fanout", "fanout", "fanout.handler.lambda_handler", 1769, 30)

ALL = (
    CONNECTION_HANDLER,
    AUTHORIZER,
    CHUNK_WRITER,
    S3_AUDIO_CONSUMER,
    AUDIO_PROCESSOR,
    SESSION_TIMER,
    TRANSCRIPTS,
    FANOUT,
)
BY_NAME = {function.base_name: function for function in ALL}
