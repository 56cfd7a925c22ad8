"""transcripts: on getTranscript (invoked by the connection handler, by name), builds a
session's transcript in one language from the utterance records the processor keeps in
the translation bucket, stores TXT/SRT/WebVTT next to them and posts presigned URLs."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.management_api import allow_posting
from infra.nag import objects_under
from infra.python_function import FunctionSpec, PythonFunction
from lambdas.deployment import env_names, functions
from lambdas.shared import resources


class Transcripts(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        translation_bucket: s3.IBucket,
        stage: apigw.WebSocketStage,
        management_endpoint: str,
        reserve_concurrency: bool = True,
    ) -> None:
        """reserve_concurrency: constants.RESERVED_CONCURRENCY[transcripts][env], which is also
        its ceiling: downloads never take executions from the speech path."""
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Transcripts",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.TRANSCRIPTS,
                description="Builds a session's transcript (TXT, SRT, WebVTT) and posts its presigned URLs",
                environment={
                    env_names.API_GATEWAY_ENDPOINT: management_endpoint,
                    env_names.S3_BUCKET_NAME: translation_bucket.bucket_name,
                    env_names.PRESIGNED_URL_EXPIRATION: str(constants.PRESIGNED_URL_EXPIRATION_SECONDS),
                },
                invoked_asynchronously=True,
                reserved_concurrency=(
                    constants.RESERVED_CONCURRENCY[constants.TRANSCRIPTS][env_name]
                    if reserve_concurrency
                    else None
                ),
            ),
        )
        role = self.function.role
        # Least privilege: it reads utterance records and writes (and presigns GETs of) the
        # transcripts, nothing else of the session's objects (chunks, clips).
        records, files = (f"{resources.CHUNK_KEY_PREFIX}*/{part}/" for part in ("utterances", "transcripts"))
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:GetObject"],
            resource_arns=[
                translation_bucket.arn_for_objects(f"{records}*"),
                translation_bucket.arn_for_objects(f"{files}*"),
            ],
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:PutObject"],
            resource_arns=[translation_bucket.arn_for_objects(f"{files}*")],
        )
        # Listing only the records of a session: one prefix each.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[translation_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{records}*"]}},
            )
        )
        self.function.allow_wildcards(
            "Record and transcript keys are sessions/{sessionId}/(utterances|transcripts)/..., "
            "created at run time.",
            objects_under(records),
            objects_under(files),
        )
        allow_posting(
            self.function,
            stage,
            env_name,
            "The requester's connection id is created at run time: the answer is posted (POST only) to "
            "this stage's @connections/*.",
        )
