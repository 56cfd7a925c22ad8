"""s3_audio_consumer: the session's streaming worker.

Invoked asynchronously with {"sessionId", "generation"} by the chunk writer (when a
session has no live worker) and by itself (a worker handing over to its successor
before Lambda's 15-minute limit). It reads the session's chunks by exact key, feeds
them to ONE Amazon Transcribe streaming request and hands each utterance to
audio_processor. Nothing waits on S3 events: the chunk bucket has no notifications.

Costs and quotas: a session holds one Transcribe stream (two for a moment during a
handover), billed per second of audio streamed, and one worker invocation running for
its whole talk. Amazon Transcribe allows 25 concurrent streams per region by default
(a quota that can be raised): about 25 live sessions per region, fewer while several
hand over at once; a stream refused for the quota is an error of the worker."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.failure_queue import FailureQueue
from infra.nag import objects_under
from infra.python_function import FunctionSpec, PythonFunction, function_arn
from lambdas.deployment import env_names, functions
from lambdas.shared import resources


@dataclass(frozen=True)
class StreamingSettings:
    """How the worker's Transcribe stream is set up (CDK context, see app.py)."""

    # transcribeVocabulary: a custom vocabulary of the speaker's language; "" for none.
    vocabulary: str = ""
    # transcribePartialStability: stabilization is always on (the utterance cutter
    # cuts on stable words); this only chooses how stable.
    partial_stability: str = constants.TRANSCRIBE_PARTIAL_STABILITY
    # workerHandoverSeconds: when a worker hands over to its successor.
    handover_seconds: int = constants.WORKER_HANDOVER_SECONDS

    def __post_init__(self) -> None:
        if self.partial_stability not in constants.TRANSCRIBE_PARTIAL_STABILITIES:
            raise ValueError(
                "context transcribePartialStability must be one of "
                f"{constants.TRANSCRIBE_PARTIAL_STABILITIES}, got {self.partial_stability!r}"
            )
        low, high = constants.WORKER_HANDOVER_MIN_SECONDS, constants.WORKER_HANDOVER_MAX_SECONDS
        if not low <= self.handover_seconds <= high:
            raise ValueError(
                f"context workerHandoverSeconds must be between {low} and {high}, "
                f"got {self.handover_seconds!r}"
            )

    def environment(self) -> dict[str, str]:
        return {
            env_names.RECOGNIZER: constants.RECOGNIZER,
            env_names.TRANSCRIBE_VOCABULARY: self.vocabulary,
            env_names.TRANSCRIBE_PARTIAL_STABILITY: self.partial_stability,
            env_names.SEGMENT_MS: str(constants.SEGMENT_MS),
            env_names.WORKER_HANDOVER_SECONDS: str(self.handover_seconds),
        }


class AudioConsumer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        bucket: s3.IBucket,
        sessions: dynamodb.ITable,
        ffmpeg_layer: lambda_.ILayerVersion,
        streaming: StreamingSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        streaming = streaming or StreamingSettings()
        self.function = PythonFunction(
            self,
            "Consumer",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.S3_AUDIO_CONSUMER,
                description="Session streaming worker: chunks -> Transcribe stream -> utterances",
                environment={
                    env_names.CHUNK_BUCKET: bucket.bucket_name,
                    env_names.SESSIONS_TABLE: sessions.table_name,
                    env_names.AUDIO_PROCESSOR_FUNCTION: resources.function_name(
                        constants.AUDIO_PROCESSOR, env_name
                    ),
                    env_names.FFMPEG_PATH: "/opt/bin/ffmpeg",
                    **streaming.environment(),
                },
                layers=[ffmpeg_layer],
                invoked_asynchronously=True,
            ),
        )
        # Utterances the processor would not take (its invoke failed, retries included):
        # kept for an operator's redrive while the talk goes on; an alarm watches it.
        self.undelivered = FailureQueue(self, "Undelivered")
        self.function.function.add_environment(
            env_names.UNDELIVERED_QUEUE_URL, self.undelivered.queue.queue_url
        )
        self.undelivered.queue.grant_send_messages(self.function.role)
        self._grant(env_name, bucket, sessions)

    def _grant(self, env_name: str, bucket: s3.IBucket, sessions: dynamodb.ITable) -> None:
        role = self.function.role
        # Chunks are read by exact key (a missing one is a 404, "not yet"); past a gap the
        # first later chunks are found with one LIST, only under the sessions' prefix.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:GetObject"],
            resource_arns=[bucket.arn_for_objects(f"{resources.CHUNK_KEY_PREFIX}*")],
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{resources.CHUNK_KEY_PREFIX}*"]}},
            )
        )
        self.function.allow_wildcards(
            "The worker reads chunks of its live session under sessions/; keys are created at run time.",
            objects_under(resources.CHUNK_KEY_PREFIX),
        )
        # The worker's lease and checkpoint and the ingest cursor live in the session item.
        sessions.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        iam.Grant.add_to_principal(
            grantee=role, actions=["transcribe:StartStreamTranscription"], resource_arns=["*"]
        )
        self.function.allow_wildcards(
            "transcribe:StartStreamTranscription has no resource type (the Service Authorization "
            "Reference lists none), so it can only be granted on Resource *.",
            "Resource::*",
        )
        # By ARN from the deterministic names: audio_processor lives in the
        # AudioTranscription stack, which depends on this one, and a role that names its
        # own function by reference would be a cycle. The worker invokes itself to hand
        # over (its name comes from the Lambda context, so it needs no variable).
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["lambda:InvokeFunction"],
            resource_arns=[
                function_arn(self, constants.AUDIO_PROCESSOR, env_name),
                function_arn(self, constants.S3_AUDIO_CONSUMER, env_name),
            ],
        )
