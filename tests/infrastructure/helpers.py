"""Small readers over synthesized templates."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

# What an SQS on-failure destination needs from the function's role.
FAILURE_DESTINATION = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
# Every function traces (active X-Ray tracing): what Lambda grants its role for it.
TRACING = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def resources(template: Template, type_name: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(type_name)


def function_by_name(template: Template, name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources(template, "AWS::Lambda::Function").items():
        if resource["Properties"].get("FunctionName") == name:
            return logical_id, resource["Properties"]
    raise AssertionError(f"no function named {name}")


def role_statements(template: Template, function_name: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the function's role."""
    _, function = function_by_name(template, function_name)
    role_id = function["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    role = resources(template, "AWS::IAM::Role")[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role, f"{function_name} role has managed policies"
    for inline in role.get("Policies", []):
        statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_on(statements: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """action -> resources it is allowed on."""
    allowed: dict[str, list[Any]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, []).extend(as_list(statement["Resource"]))
    return allowed


def text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def statements_with(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if action in as_list(s["Action"])]


def resource_id(template: Template, type_name: str, contains: str) -> str:
    """The one resource of a type whose logical id contains `contains`."""
    found = [k for k in resources(template, type_name) if contains in k]
    assert len(found) == 1, (type_name, contains, found)
    return found[0]


def post_to_connections(stage: str) -> str:
    """The tail of the only management-API ARN a function may have: POST to connections."""
    return f"/{stage}/POST/@connections/*"
