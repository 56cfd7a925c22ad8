"""s3_audio_consumer: cuts stored chunks into PCM batches and hands them to audio_processor."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from infra import constants
from infra.nag import objects_under
from infra.python_function import FunctionSpec, PythonFunction
from lambdas.shared import env_names, resources


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
    ) -> None:
        super().__init__(scope, construct_id)
        processor_name = resources.function_name(constants.AUDIO_PROCESSOR, env_name)
        self.function = PythonFunction(
            self,
            "Consumer",
            env_name=env_name,
            spec=FunctionSpec(
                base_name=constants.S3_AUDIO_CONSUMER,
                package="s3_audio_consumer",
                description="Cuts WebM chunks at Cluster starts into ~3 s PCM batches",
                environment={
                    env_names.CHUNK_BUCKET: bucket.bucket_name,
                    env_names.SESSIONS_TABLE: sessions.table_name,
                    env_names.AUDIO_PROCESSOR_FUNCTION: processor_name,
                    env_names.FFMPEG_PATH: "/opt/bin/ffmpeg",
                },
                layers=[ffmpeg_layer],
                invoked_asynchronously=True,
            ),
        )
        role = self.function.role
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:GetObject"],
            resource_arns=[bucket.arn_for_objects(f"{resources.CHUNK_KEY_PREFIX}*")],
        )
        self.function.allow_wildcards(
            "The consumer reads chunks of any live session under sessions/; keys are created at run time.",
            objects_under(resources.CHUNK_KEY_PREFIX),
        )
        # Listing is limited to the sessions/ prefix (StartAfter the cursor).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{resources.CHUNK_KEY_PREFIX}*"]}},
            )
        )
        sessions.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        # audio_processor lives in the AudioTranscription stack, which depends on this
        # one; its deterministic name is granted by ARN to avoid a dependency cycle.
        processor_arn = Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=processor_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=role, actions=["lambda:InvokeFunction"], resource_arns=[processor_arn]
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.function.function),
            s3.NotificationKeyFilter(prefix=resources.CHUNK_KEY_PREFIX, suffix=resources.CHUNK_KEY_SUFFIX),
        )
