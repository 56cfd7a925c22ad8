"""audio_processor: an utterance, recognized by the session's streaming worker (the
SessionManagement stack's s3-audio-consumer, which holds the Transcribe stream) ->
Translate -> Polly -> S3 -> listeners. The stack keeps its name from the layout; what it
runs is translation, speech and delivery."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.management_api import LISTENER_POSTS, allow_posting
from infra.nag import objects_under
from infra.python_function import FunctionSpec, PythonFunction
from infra.table_access import grant_items, grant_listener_query
from lambdas.deployment import env_names, functions
from lambdas.shared import resources


class SpeechPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        translation_bucket: s3.IBucket,
        sessions: dynamodb.ITable,
        connections: dynamodb.ITable,
        idempotency: dynamodb.ITable,
        stage: apigw.WebSocketStage,
        management_endpoint: str,
        translation_tuning: Mapping[str, str],
        ffmpeg_layer: lambda_.ILayerVersion,
        fanout_function: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "AudioProcessor",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.AUDIO_PROCESSOR,
                description="Translates an utterance, synthesizes and delivers a clip per language",
                environment={
                    env_names.API_GATEWAY_ENDPOINT: management_endpoint,
                    env_names.CONNECTIONS_TABLE: connections.table_name,
                    env_names.SESSIONS_TABLE: sessions.table_name,
                    env_names.IDEMPOTENCY_TABLE: idempotency.table_name,
                    env_names.S3_BUCKET_NAME: translation_bucket.bucket_name,
                    env_names.PRESIGNED_URL_EXPIRATION: str(constants.PRESIGNED_URL_EXPIRATION_SECONDS),
                    # ffmpeg trims each clip and stretches it to its source's time.
                    env_names.FFMPEG_PATH: "/opt/bin/ffmpeg",
                    # Pages of a clip's listeners beyond the first go to the fan-out function.
                    env_names.FANOUT_FUNCTION: fanout_function,
                    env_names.FANOUT_PAGE_SIZE: str(constants.FANOUT_PAGE_SIZE),
                    env_names.FANOUT_IN_FLIGHT: str(constants.FANOUT_IN_FLIGHT),
                    **translation_tuning,
                },
                invoked_asynchronously=True,
                layers=[ffmpeg_layer],
            ),
        )
        self._grant_storage(translation_bucket, sessions, connections, idempotency)
        allow_posting(self.function, stage, env_name, LISTENER_POSTS)
        self._grant_services()

    def _grant_storage(
        self,
        translation_bucket: s3.IBucket,
        sessions: dynamodb.ITable,
        connections: dynamodb.ITable,
        idempotency: dynamodb.ITable,
    ) -> None:
        role = self.function.role
        clips = translation_bucket.arn_for_objects(f"{resources.CHUNK_KEY_PREFIX}*")
        iam.Grant.add_to_principal(
            grantee=role, actions=["s3:PutObject", "s3:GetObject"], resource_arns=[clips]
        )
        self.function.allow_wildcards(
            "Clip keys are sessions/{sessionId}/translated/{language}/{index}.mp3, created at run time.",
            objects_under(resources.CHUNK_KEY_PREFIX),
        )
        # Fan-out queries read listeners of one (session, language); stale listeners
        # (GoneException) are removed.
        grant_listener_query(role, connections)
        grant_items(role, connections, "dynamodb:DeleteItem")
        # UpdateItem: removing a stale listener also lowers the session's per-language
        # listener counters (delivery.audience).
        sessions.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        idempotency.grant(
            role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
        )

    def _grant_services(self) -> None:
        # These two actions take no resource ARN we use (Translate and Polly scope only
        # terminologies and lexicons). Speech recognition moved to the session's streaming
        # worker (s3-audio-consumer), which holds transcribe:StartStreamTranscription.
        iam.Grant.add_to_principal(
            grantee=self.function.role,
            actions=["translate:TranslateText", "polly:SynthesizeSpeech"],
            resource_arns=["*"],
        )
        self.function.allow_wildcards(
            "translate:TranslateText and polly:SynthesizeSpeech scope only custom terminologies "
            "and lexicons, which are optional; the text and speech themselves have no resource.",
            "Resource::*",
        )
