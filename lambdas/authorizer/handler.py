"""$connect authorizer: speakers present a Cognito ID token; listeners connect without one."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from authorizer.tokens import InvalidToken, JwksKeySource, StaticKeySource, TokenVerifier, cognito_issuer
from shared import env_names
from shared.config import env_str

logger = Logger()


@cache
def _verifier() -> TokenVerifier:
    dev_key = os.environ.get(env_names.AUTH_PUBLIC_KEY_PEM)
    if dev_key:  # local runner and tests only; the stacks never set it
        return TokenVerifier(
            keys=StaticKeySource(dev_key),
            issuer=env_str(env_names.AUTH_ISSUER),
            audience=env_str(env_names.AUTH_AUDIENCE),
        )
    issuer = cognito_issuer(env_str(env_names.COGNITO_REGION), env_str(env_names.COGNITO_USER_POOL_ID))
    return TokenVerifier(
        keys=JwksKeySource(f"{issuer}/.well-known/jwks.json"),
        issuer=issuer,
        audience=env_str(env_names.COGNITO_APP_CLIENT_ID),
    )


def _policy(principal: str, effect: str, resource: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    resource = event["methodArn"]
    token = query.get("token")
    if not token:
        return _policy("listener", "Allow", resource, {"role": "listener"})
    try:
        speaker = _verifier().verify(token)
    except InvalidToken as error:
        logger.warning("speaker token refused", extra={"reason": str(error)})
        return _policy("anonymous", "Deny", resource, {})
    return _policy(
        speaker.user_id,
        "Allow",
        resource,
        {"role": "speaker", "userId": speaker.user_id, "email": speaker.email},
    )
