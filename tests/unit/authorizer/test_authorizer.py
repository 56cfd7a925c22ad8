"""The $connect authorizer with tokens signed by a key pair made in the test."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authorizer import handler, wiring

ISSUER = "https://issuer.test/pool"
AUDIENCE = "speaker-app-client"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/$connect"


def keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE, PUBLIC = keypair()
OTHER_PRIVATE, _ = keypair()


def token(private: str = PRIVATE, **overrides) -> str:
    now = int(time.time())
    claims = {
        "sub": "user-1",
        "email": "speaker@example.org",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "token_use": "id",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, private, algorithm="RS256")


@pytest.fixture(autouse=True)
def dev_identity(monkeypatch):
    monkeypatch.setenv("AUTH_PUBLIC_KEY_PEM", PUBLIC)
    monkeypatch.setenv("AUTH_ISSUER", ISSUER)
    monkeypatch.setenv("AUTH_AUDIENCE", AUDIENCE)
    wiring.verifier.cache_clear()
    yield
    wiring.verifier.cache_clear()


class Context:
    function_name = "connect-authorizer-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:connect-authorizer-test"
    aws_request_id = "req-1"


def authorize(query):
    return handler.lambda_handler(
        {"type": "REQUEST", "methodArn": ARN, "queryStringParameters": query}, Context()
    )


def effect(result) -> str:
    return result["policyDocument"]["Statement"][0]["Effect"]


def test_valid_speaker_token_is_allowed_as_speaker():
    result = authorize({"token": token()})
    assert effect(result) == "Allow"
    assert result["policyDocument"]["Statement"][0]["Resource"] == ARN
    assert result["context"] == {"role": "speaker", "userId": "user-1", "email": "speaker@example.org"}


def test_listener_without_token_is_allowed_as_listener():
    result = authorize({"sessionId": "steady-river-1234", "language": "es"})
    assert effect(result) == "Allow"
    assert result["context"] == {"role": "listener"}
    assert effect(authorize(None)) == "Allow"


@pytest.mark.parametrize(
    "bad",
    [
        token(private=OTHER_PRIVATE),  # forged: signed by another key
        token(exp=int(time.time()) - 60),  # expired
        token(aud="another-client"),
        token(iss="https://evil.test/pool"),
        token(token_use="access"),
        token(token_use=None),
        "not-a-jwt",
        jwt.encode(
            {"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "token_use": "id"},
            "shared-secret-of-thirty-two-bytes!!",
            algorithm="HS256",
        ),
    ],
)
def test_forged_expired_or_foreign_tokens_are_denied(bad):
    result = authorize({"token": bad})
    assert effect(result) == "Deny"
    assert result["context"] == {}


def test_cognito_configuration_uses_the_pools_jwks(monkeypatch):
    monkeypatch.delenv("AUTH_PUBLIC_KEY_PEM")
    monkeypatch.setenv("COGNITO_REGION", "eu-west-1")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", "eu-west-1_abc")
    monkeypatch.setenv("COGNITO_APP_CLIENT_ID", "client-1")
    wiring.verifier.cache_clear()
    verifier = wiring.verifier()
    assert verifier.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert verifier.audience == "client-1"
    assert verifier.keys._client.uri == f"{verifier.issuer}/.well-known/jwks.json"
