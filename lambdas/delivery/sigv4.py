"""Signature Version 4 for the fan-out's postToConnection requests, at a fraction of
botocore's CPU.

A page posts one body to up to a thousand connections. botocore's `SigV4Auth` builds an
`AWSRequest` per post, hashes the body again, walks its header rules and derives the
signing key with four HMACs every time: most of the sender's ~0.5 ms of CPU per post
(bench/fanout_sim.py). Here the body is hashed once per page, the signing key derived
once per day, region and secret (as the SigV4 specification allows: it only changes
with them), and each post costs two SHA-256 digests and one HMAC. The result is the
same signature botocore makes (tests/unit/test_sigv4.py compares them byte for byte).

Only what postToConnection needs: POST, no query string, signed headers host,
x-amz-date and, with temporary credentials, x-amz-security-token."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "execute-api"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


@lru_cache(maxsize=8)
def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    """The day's key: it depends on nothing else, so one derivation serves every post."""
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        return f"{host}:{parts.port}"
    return host


@dataclass(frozen=True)
class PageSigner:
    """Signs POSTs of one body (a page's message) to paths on one host."""

    credentials: Credentials
    region: str
    host: str
    payload_sha256: str

    @classmethod
    def for_page(cls, credentials: Credentials, region: str, endpoint: str, body: bytes) -> PageSigner:
        return cls(credentials, region, canonical_host(endpoint), hashlib.sha256(body).hexdigest())

    def headers(self, path: str, now: datetime | None = None) -> dict[str, str]:
        """The headers that authenticate a POST to `path` (as sent: already quoted)."""
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        names = ["host", "x-amz-date"]
        values = [self.host, stamp]
        if self.credentials.token:
            names.append("x-amz-security-token")
            values.append(self.credentials.token)
        signed = ";".join(names)
        canonical = "\n".join(
            [
                "POST",
                quote(path, safe="/~"),  # SigV4 encodes the sent path once more (not for S3)
                "",
                "".join(f"{name}:{value}\n" for name, value in zip(names, values, strict=True)),
                signed,
                self.payload_sha256,
            ]
        )
        scope = f"{day}/{self.region}/{SERVICE}/aws4_request"
        to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = signing_key(self.credentials.secret_key, day, self.region, SERVICE)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers = {
            "X-Amz-Date": stamp,
            "Authorization": (
                f"{ALGORITHM} Credential={self.credentials.access_key}/{scope}, "
                f"SignedHeaders={signed}, Signature={signature}"
            ),
        }
        if self.credentials.token:
            headers["X-Amz-Security-Token"] = self.credentials.token
        return headers
