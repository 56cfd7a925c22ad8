"""Private, encrypted, TLS-only S3 buckets for short-lived audio."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.nag import suppress


def _removal(env_name: str) -> RemovalPolicy:
    return RemovalPolicy.DESTROY if env_name == "dev" else RemovalPolicy.RETAIN


def access_log_bucket(scope: Construct, construct_id: str, *, env_name: str) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
        removal_policy=_removal(env_name),
    )
    suppress(bucket, "S1", "This is the server access log bucket; logging it into itself would loop.")
    return bucket


def audio_bucket(
    scope: Construct,
    construct_id: str,
    *,
    env_name: str,
    access_logs: s3.IBucket,
    log_prefix: str,
    cors_origins: Sequence[str] = (),
) -> s3.Bucket:
    cors = (
        [
            s3.CorsRule(
                allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                allowed_origins=list(cors_origins),
                allowed_headers=["*"],
                max_age=3600,
            )
        ]
        if cors_origins
        else None
    )
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=constants.OBJECT_EXPIRATION,
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
        cors=cors,
        removal_policy=_removal(env_name),
    )
