"""The fan-out's own SigV4 (delivery/sigv4.py) makes the signature botocore makes, for the
requests the fan-out sends: connection ids quoted as boto3 quotes them, local and AWS
hosts, long-term and temporary credentials, a retry signed at another second."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.sigv4 import Credentials, PageSigner, canonical_host

ENDPOINTS = [
    "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
    "http://127.0.0.1:8123/local",
    "https://abc123.execute-api.eu-west-1.amazonaws.com:443/prod",
]
CREDENTIALS = [
    Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    Credentials("ASIAEXAMPLE", "secret/with+signs", token="FQoGZXIvYXdzE//token=="),
]
NOW = datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC)


def botocore_headers(
    credentials: Credentials, endpoint: str, path: str, body: bytes, now: datetime
) -> dict[str, str]:
    signer = SigV4Auth(
        BotoCredentials(credentials.access_key, credentials.secret_key, credentials.token),
        "execute-api",
        "eu-west-1",
    )
    parts = urlsplit(endpoint)
    request = AWSRequest(method="POST", url=f"{parts.scheme}://{parts.netloc}{path}", data=body)
    with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
        signer.add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("credentials", CREDENTIALS)
def test_the_headers_are_botocores(endpoint: str, credentials: Credentials) -> None:
    body = b'{"type":"translatedText","text":"Hola a todos."}'
    path = urlsplit(endpoint).path + "/@connections/" + quote("L0001bench=", safe="")
    ours = PageSigner.for_page(credentials, "eu-west-1", endpoint, body).headers(path, NOW)
    assert ours == botocore_headers(credentials, endpoint, path, body, NOW)


@settings(max_examples=60, deadline=None)
@given(
    connection_id=st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_", min_size=1
    ),
    body=st.binary(max_size=2000),
    seconds=st.integers(min_value=0, max_value=86_400 * 400),
)
def test_any_connection_id_body_and_time_signs_as_botocore_does(
    connection_id: str, body: bytes, seconds: int
) -> None:
    endpoint = ENDPOINTS[0]
    now = datetime.fromtimestamp(1_790_000_000 + seconds, UTC)
    path = "/prod/@connections/" + quote(connection_id, safe="")
    ours = PageSigner.for_page(CREDENTIALS[1], "eu-west-1", endpoint, body).headers(path, now)
    assert ours == botocore_headers(CREDENTIALS[1], endpoint, path, body, now)


def test_the_default_port_is_left_out_of_the_host_and_another_is_kept() -> None:
    assert (
        canonical_host("https://x.execute-api.us-east-1.amazonaws.com:443/prod")
        == "x.execute-api.us-east-1.amazonaws.com"
    )
    assert canonical_host("http://127.0.0.1:8123/local") == "127.0.0.1:8123"
