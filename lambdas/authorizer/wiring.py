"""Builds the authorizer's token verifier once per cold start."""

from __future__ import annotations

import os
from functools import cache

from authorizer.tokens import JwksKeySource, StaticKeySource, TokenVerifier, cognito_issuer
from deployment import env_names
from deployment.config import env_str


@cache
def verifier() -> TokenVerifier:
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
