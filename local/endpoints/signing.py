"""Checks a Transcribe streaming client's SigV4 signatures, as the service does: the
request's `Authorization` header, then every audio chunk's `:chunk-signature`, each
chained to the one before it (the first to the request's signature).

The request is checked by signing it again with awscrt's SigV4 signer; each chunk by
computing its signature as the event-stream SigV4 scheme defines it (below), with the
`:date` header encoded by the SDK's own header encoder. Neither is the code that
aws-sdk-transcribe-streaming signs with (aws-sdk-signers), so a signing regression in
the client shows up locally as the service's 403 or a broken stream, not first on AWS."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from awscrt.auth import (
    AwsCredentialsProvider,
    AwsSignedBodyHeaderType,
    AwsSignedBodyValue,
    AwsSigningConfig,
    aws_sign_request,
)
from awscrt.http import HttpHeaders, HttpRequest
from smithy_aws_event_stream.events import EventHeaderEncoder

from local.endpoints.eventstream import Message

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[^, ]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Credentials:
    """What a request was signed with: the endpoint knows the secret of each key."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


class SignatureError(Exception):
    """`error_type` is the service's error code for it."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True)
class RequestSignature:
    access_key: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: bytes

    @classmethod
    def parse(cls, authorization: str) -> RequestSignature:
        match = _AUTHORIZATION.match(authorization.strip())
        if match is None:
            raise SignatureError("IncompleteSignatureException", "Authorization header is not SigV4")
        return cls(
            access_key=match["key"],
            region=match["region"],
            service=match["service"],
            signed_headers=tuple(match["signed"].split(";")),
            signature=bytes.fromhex(match["signature"]),
        )


def verify_request(
    method: str, path: str, headers: Mapping[str, str], secrets: Mapping[str, str]
) -> tuple[RequestSignature, Credentials]:
    """The request's signature and the credentials it was made with, if it is right.
    `headers` are lower-case, with `host` for HTTP/2's `:authority`."""
    if "authorization" not in headers or "x-amz-date" not in headers:
        raise SignatureError("MissingAuthenticationTokenException", "Missing Authentication Token")
    signature = RequestSignature.parse(headers["authorization"])
    secret = secrets.get(signature.access_key)
    if secret is None:
        raise SignatureError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    credentials = Credentials(signature.access_key, secret, headers.get("x-amz-security-token"))
    if _sign_request(method, path, headers, signature, credentials) != signature.signature:
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
    return signature, credentials


def _sign_request(
    method: str, path: str, headers: Mapping[str, str], signature: RequestSignature, credentials: Credentials
) -> bytes:
    """The signature awscrt makes for the same request, date and signed headers. It adds
    `x-amz-date`, the session token and `x-amz-content-sha256` itself, so they are left
    out of its input; the body hash is the client's (amazon-transcribe, the old SDK, signed the
    empty body's hash without the header; aws-sdk-transcribe-streaming sends the header)."""
    added_by_signer = {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "authorization"}
    body_hash = headers.get("x-amz-content-sha256")
    kept = [(n, v) for n, v in headers.items() if n in signature.signed_headers and n not in added_by_signer]
    request = HttpRequest(method=method, path=path, headers=HttpHeaders(kept))
    date = datetime.datetime.strptime(headers["x-amz-date"], _AMZ_DATE).replace(tzinfo=datetime.UTC)
    provider = AwsCredentialsProvider.new_static(
        credentials.access_key_id, credentials.secret_access_key, credentials.session_token
    )
    config = AwsSigningConfig(
        credentials_provider=provider,
        region=signature.region,
        service=signature.service,
        date=date,
        should_sign_header=lambda name: name.lower() in signature.signed_headers,
        signed_body_value=body_hash or AwsSignedBodyValue.EMPTY_SHA256,
        signed_body_header_type=AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
        if body_hash
        else AwsSignedBodyHeaderType.NONE,
    )
    signed = aws_sign_request(request, config).result()
    parsed = RequestSignature.parse(signed.headers.get("authorization") or "")
    return parsed.signature


class ChunkVerifier:
    """Checks a stream's signed wrappers in order (each signature chains the previous)."""

    def __init__(self, request: RequestSignature, credentials: Credentials) -> None:
        self._prior = request.signature
        self._region = request.region
        self._service = request.service
        self._credentials = credentials

    def verify(self, wrapper: Message) -> None:
        date, signature = wrapper.header(":date"), wrapper.header(":chunk-signature")
        if not isinstance(date, datetime.datetime) or not isinstance(signature, bytes):
            raise SignatureError("BadRequestException", "An audio chunk is not signed")
        expected = self._signature(date, wrapper.payload)
        if not hmac.compare_digest(expected, signature):
            raise SignatureError("BadRequestException", "The chunk signature does not match")
        self._prior = signature

    def _signature(self, date: datetime.datetime, payload: bytes) -> bytes:
        """HMAC-SHA256 with the SigV4 signing key over "AWS4-HMAC-SHA256-PAYLOAD", the
        date, the scope, the prior signature (hex), and the SHA-256 of the encoded
        `:date` header and of the payload (the wrapped event)."""
        encoder = EventHeaderEncoder()
        encoder.encode_headers({":date": date})
        timestamp = date.astimezone(datetime.UTC).strftime(_AMZ_DATE)
        scope = f"{timestamp[:8]}/{self._region}/{self._service}/aws4_request"
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                timestamp,
                scope,
                self._prior.hex(),
                hashlib.sha256(encoder.get_result()).hexdigest(),
                hashlib.sha256(payload).hexdigest(),
            ]
        )
        key = f"AWS4{self._credentials.secret_access_key}".encode()
        for part in (timestamp[:8], self._region, self._service, "aws4_request"):
            key = _hmac(key, part)
        return _hmac(key, to_sign)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
