"""The IAM policy API Gateway expects back from a REQUEST authorizer."""

from __future__ import annotations

from typing import Any

from shared.authorizer_context import AuthorizerContext


def policy(principal: str, effect: str, resource: str, caller: AuthorizerContext | None) -> dict[str, Any]:
    """`caller`: what the later routes learn about the caller (None: nothing, on a Deny)."""
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": caller.to_context() if caller else {},
    }
