"""Least-privilege access to a WebSocket stage's @connections management API."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_iam as iam

from infra.nag import stage_connections
from infra.python_function import PythonFunction


def post_to_connections_arn(stage: apigw.IWebSocketStage) -> str:
    """arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/POST/@connections/*"""
    return Stack.of(stage).format_arn(
        service="execute-api",
        resource=stage.api.api_id,
        resource_name=f"{stage.stage_name}/POST/@connections/*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def grant_post_to_connections(stage: apigw.IWebSocketStage, grantee: iam.IGrantable) -> iam.Grant:
    """Send messages to connections (POST) only. Unlike stage.grant_management_api_access,
    which allows every method, this denies GET (connection info) and DELETE (disconnect)."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["execute-api:ManageConnections"],
        resource_arns=[post_to_connections_arn(stage)],
    )


# Why a function that sends clips or broadcasts may post to any connection of the stage.
LISTENER_POSTS = (
    "Listener connection ids are created at run time: clips are posted (POST only) to this "
    "stage's @connections/*."
)


def allow_posting(function: PythonFunction, stage: apigw.IWebSocketStage, env_name: str, reason: str) -> None:
    """The function posts (POST only) to the stage's @connections/*; the wildcard's cdk-nag
    finding is accepted for `reason` (connection ids are created at run time)."""
    grant_post_to_connections(stage, function.role)
    function.allow_wildcards(reason, stage_connections(env_name))
