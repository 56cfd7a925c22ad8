"""The local runner's dev identity: a signing key made at start-up and ID tokens that
the unchanged authorizer accepts (it reads AUTH_PUBLIC_KEY_PEM; the stacks never set it)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "http://127.0.0.1/local-dev-identity"
AUDIENCE = "low-latency-translate-local"


@dataclass
class DevIdentity:
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    @property
    def public_key_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def environment(self) -> dict[str, str]:
        return {"AUTH_PUBLIC_KEY_PEM": self.public_key_pem, "AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": AUDIENCE}

    def id_token(self, email: str = "speaker@local.test", lifetime_seconds: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, email)),
            "email": email,
            "token_use": "id",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + lifetime_seconds,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "local"})
