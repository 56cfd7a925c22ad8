"""DynamoDB tables for sessions and WebSocket connections."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from lambdas.shared import resources


class SessionStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env_name: str) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.DESTROY if env_name == "dev" else RemovalPolicy.RETAIN
        common: dict[str, Any] = {
            "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
            "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            "encryption": dynamodb.TableEncryption.AWS_MANAGED,
            "time_to_live_attribute": resources.TTL_ATTRIBUTE,
            "removal_policy": removal,
        }
        self.sessions = dynamodb.Table(
            self,
            "Sessions",
            table_name=resources.SESSIONS_TABLE_PATTERN.format(env=env_name),
            partition_key=dynamodb.Attribute(
                name=resources.SESSIONS_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            **common,
        )
        self.connections = dynamodb.Table(
            self,
            "Connections",
            table_name=resources.CONNECTIONS_TABLE_PATTERN.format(env=env_name),
            partition_key=dynamodb.Attribute(
                name=resources.CONNECTIONS_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            **common,
        )
        # Sparse index: only listener items carry targetLanguage, so a query per
        # (session, language) returns exactly the listeners to deliver a clip to.
        self.connections.add_global_secondary_index(
            index_name=resources.LISTENERS_BY_LANGUAGE_INDEX,
            partition_key=dynamodb.Attribute(
                name=resources.LISTENERS_INDEX_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=resources.LISTENERS_INDEX_SORT_KEY, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
