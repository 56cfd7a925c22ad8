"""The account-wide role API Gateway needs to write access logs to CloudWatch.

API Gateway keeps one such role per account and region; only one stack may own it,
so it is created where the context flag apiGatewayCloudWatchRole is true (the dev
default). Accounts that already have it set pass -c apiGatewayCloudWatchRole=false."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import suppress


class ApiGatewayLogging(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        suppress(
            role,
            "IAM4",
            "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for API Gateway's "
            "account logging role; the log groups it writes are created by API Gateway at run time.",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            ],
        )
        self.account = apigw_v1.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
