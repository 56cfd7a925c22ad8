"""Verification of speaker ID tokens (Cognito, or a configured dev signing key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import jwt


class InvalidToken(Exception):
    pass


class KeySource(Protocol):
    def key_for(self, token: str) -> Any: ...


class JwksKeySource:
    """Keys of the user pool's JWKS, fetched once and cached across warm invocations."""

    def __init__(self, jwks_url: str) -> None:
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=3)

    def key_for(self, token: str) -> Any:
        try:
            return self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as error:
            raise InvalidToken(f"no signing key for this token: {error}") from error


class StaticKeySource:
    """One RSA public key (PEM): the local runner's dev identity and the tests."""

    def __init__(self, public_key_pem: str) -> None:
        self._key = public_key_pem

    def key_for(self, token: str) -> Any:
        return self._key


@dataclass(frozen=True)
class Speaker:
    user_id: str
    email: str


@dataclass(frozen=True)
class TokenVerifier:
    keys: KeySource
    issuer: str
    audience: str

    def verify(self, token: str) -> Speaker:
        try:
            claims = jwt.decode(
                token,
                key=self.keys.key_for(token),
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
                leeway=5,
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
        return Speaker(user_id=str(claims["sub"]), email=str(claims.get("email", "")))


def cognito_issuer(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
