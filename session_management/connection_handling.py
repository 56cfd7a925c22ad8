"""connection_handler (every WebSocket route) and the $connect authorizer."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants
from infra.python_function import FunctionSpec, PythonFunction
from infra.table_access import grant_items, grant_listener_query
from lambdas.deployment import env_names, functions
from lambdas.shared import resources


class ConnectionHandling(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        sessions: dynamodb.ITable,
        connections: dynamodb.ITable,
        user_pool: cognito.IUserPool,
        app_client: cognito.IUserPoolClient,
        reserve_concurrency: bool = True,
    ) -> None:
        """reserve_concurrency: give both functions constants.RESERVED_CONCURRENCY[env]."""
        super().__init__(scope, construct_id)
        self.authorizer = PythonFunction(
            self,
            "Authorizer",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.AUTHORIZER,
                description="Verifies speaker ID tokens on $connect; admits listeners",
                environment={
                    env_names.COGNITO_USER_POOL_ID: user_pool.user_pool_id,
                    env_names.COGNITO_APP_CLIENT_ID: app_client.user_pool_client_id,
                    env_names.COGNITO_REGION: Stack.of(self).region,
                },
                reserved_concurrency=_reserved(constants.AUTHORIZER, env_name, reserve_concurrency),
            ),
        )
        self.handler = PythonFunction(
            self,
            "ConnectionHandler",
            env_name=env_name,
            spec=FunctionSpec(
                function=functions.CONNECTION_HANDLER,
                description="Handles every WebSocket route: sessions, listeners, audio chunks",
                environment={
                    env_names.SESSIONS_TABLE: sessions.table_name,
                    env_names.CONNECTIONS_TABLE: connections.table_name,
                },
                reserved_concurrency=_reserved(constants.CONNECTION_HANDLER, env_name, reserve_concurrency),
            ),
        )
        self._grant_tables(sessions, connections)

    def _grant_tables(self, sessions: dynamodb.ITable, connections: dynamodb.ITable) -> None:
        role = self.handler.role
        # Sessions are ended by an update (status, TTL), never deleted: no DeleteItem on them.
        sessions.grant(role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        # Except for single-use listener rejoin tokens, kept in the same table under
        # "rejoin#<token>" and redeemed by deleting them (SessionRepository.redeem_rejoin):
        # DeleteItem is limited to items whose partition key starts with that prefix.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:DeleteItem"],
                resources=[sessions.table_arn],
                conditions={
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{resources.REJOIN_KEY_PREFIX}*"]}
                },
            )
        )
        grant_items(
            role,
            connections,
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        grant_listener_query(role, connections)


def _reserved(base_name: str, env_name: str, reserve: bool) -> int | None:
    return constants.RESERVED_CONCURRENCY[base_name][env_name] if reserve else None
