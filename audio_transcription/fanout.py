"""fanout: posts one page of a clip's listeners for the processor (delivery/fanout.py), so
that a 5,000-listener language is posted by five invocations at once, each with its own
CPU, instead of one processor posting 5,000 in a row."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants
from infra.management_api import LISTENER_POSTS, allow_posting
from infra.python_function import FunctionSpec, PythonFunction
from lambdas.deployment import env_names, functions


class Fanout(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        stage: apigw.WebSocketStage,
        management_endpoint: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PythonFunction(
            self,
            "Fanout",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.FANOUT,
                description="Posts one page of a clip's listeners, hundreds of posts in flight",
                environment={
                    env_names.API_GATEWAY_ENDPOINT: management_endpoint,
                    env_names.FANOUT_IN_FLIGHT: str(constants.FANOUT_IN_FLIGHT),
                },
            ),
        )
        allow_posting(self.function, stage, env_name, LISTENER_POSTS)

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        # The function itself (no versions or aliases: the processor calls it by name).
        # Function.grant_invoke would add "<arn>:*" as well.
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["lambda:InvokeFunction"],
            resource_arns=[self.function.function.function_arn],
        )
