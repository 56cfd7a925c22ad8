"""chunk_writer: stores each audioChunk in the chunk bucket (async-invoked), then starts
the session's streaming worker (s3_audio_consumer) when the session has no live one."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.nag import objects_under
from infra.python_function import FunctionSpec, PythonFunction, function_arn
from lambdas.deployment import env_names, functions
from lambdas.shared import resources


class ChunkWriter(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        bucket: s3.IBucket,
        sessions: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "ChunkWriter",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.CHUNK_WRITER,
                description="Writes one MediaRecorder chunk to sessions/{id}/chunks/{seq}.webm",
                environment={
                    env_names.CHUNK_BUCKET: bucket.bucket_name,
                    env_names.SESSIONS_TABLE: sessions.table_name,
                    env_names.AUDIO_CONSUMER_FUNCTION: resources.function_name(
                        constants.S3_AUDIO_CONSUMER, env_name
                    ),
                },
                invoked_asynchronously=True,
            ),
        )
        role = self.function.role
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:PutObject"],
            resource_arns=[bucket.arn_for_objects(f"{resources.CHUNK_KEY_PREFIX}*")],
        )
        self.function.allow_wildcards(
            "Chunk keys are sessions/{sessionId}/chunks/{seq}.webm, created at run time.",
            objects_under(resources.CHUNK_KEY_PREFIX),
        )
        # After each chunk: read the session's worker lease (consistent read) and, when
        # no worker is alive, claim the kick (conditional update of workerKickAt).
        sessions.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        # ... and start the worker, asynchronously; by its deterministic name like every
        # other function-to-function grant here.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["lambda:InvokeFunction"],
            resource_arns=[function_arn(self, constants.S3_AUDIO_CONSUMER, env_name)],
        )
