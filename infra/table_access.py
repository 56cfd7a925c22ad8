"""DynamoDB grants narrower than Table.grant, which adds every index (index/*) of a table."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

from lambdas.shared import resources


def grant_items(grantee: iam.IGrantable, table: dynamodb.ITable, *actions: str) -> iam.Grant:
    """Item actions on the table itself, none on its indexes."""
    return iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=[table.table_arn])


def grant_listener_query(grantee: iam.IGrantable, connections: dynamodb.ITable) -> iam.Grant:
    """Query of the listeners index alone: the listeners of one (session, language)."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["dynamodb:Query"],
        resource_arns=[f"{connections.table_arn}/index/{resources.LISTENERS_BY_LANGUAGE_INDEX}"],
    )
