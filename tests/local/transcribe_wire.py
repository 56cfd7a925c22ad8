"""A bare HTTP/2 client for the local Transcribe endpoint, for the tests that look at
the bytes themselves: it signs like aws-sdk-transcribe-streaming (the SDK's own
signers, aws-sdk-signers, and its event-stream encoder) but hands back the raw
response, which the tests decode with botocore."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
from aws_sdk_signers import (
    URI,
    AsyncEventSigner,
    AWSCredentialIdentity,
    AWSRequest,
    Field,
    Fields,
    SigV4Signer,
    SigV4SigningProperties,
)
from smithy_aws_event_stream.events import EventHeaderEncoder, EventMessage

from local.endpoints.signing import Credentials, RequestSignature

REGION = "us-east-1"
CREDENTIALS = Credentials("testing", "testing", "testing")  # tests/conftest.py's environment
AUDIO_HEADERS = {
    ":message-type": "event",
    ":event-type": "AudioEvent",
    ":content-type": "application/octet-stream",
}
# The request's content type: the SDK's signer reads it to sign the event-stream marker
# as the body's hash (x-amz-content-sha256), as the SDK does.
EVENT_STREAM = "application/vnd.amazon.eventstream"
WAIT_S = 30.0  # a bound on a silent socket, never a speed requirement


def stream_headers(**overrides: str) -> dict[str, str]:
    headers = {
        "x-amzn-transcribe-language-code": "en-US",
        "x-amzn-transcribe-sample-rate": "16000",
        "x-amzn-transcribe-media-encoding": "pcm",
        "x-amzn-transcribe-enable-partial-results-stabilization": "true",
        "x-amzn-transcribe-partial-results-stability": "high",
    }
    headers.update(overrides)
    return headers


@dataclass
class RawResponse:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ended: bool = False  # the server ended the stream (or the connection)


def _identity(credentials: Credentials) -> AWSCredentialIdentity:
    return AWSCredentialIdentity(
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
        session_token=credentials.session_token,
    )


class SignedAudio:
    """Audio events wrapped and signed as the SDK's event publisher does (its
    AsyncEventSigner), each signature chained to the one before, the first to the
    request's."""

    def __init__(self, authorization: str, credentials: Credentials = CREDENTIALS) -> None:
        prior = RequestSignature.parse(authorization).signature.hex().encode()
        self._signer = AsyncEventSigner(initial_signature=prior, event_encoder_cls=EventHeaderEncoder)
        self._identity = _identity(credentials)
        self._properties = SigV4SigningProperties(region=REGION, service="transcribe")

    def event(self, pcm: bytes) -> bytes:
        return self._sign(EventMessage(headers=dict(AUDIO_HEADERS), payload=pcm)).encode()

    def end(self) -> bytes:
        empty = asyncio.run(
            self._signer.sign_empty(
                event=EventMessage(), identity=self._identity, properties=self._properties
            )
        )
        return empty.encode()

    def forged(self, signed_pcm: bytes, sent_pcm: bytes) -> bytes:
        """A well-formed wrapper whose signature is for other audio than it carries."""
        wrapper = self._sign(EventMessage(headers=dict(AUDIO_HEADERS), payload=signed_pcm))
        wrapper.payload = EventMessage(headers=dict(AUDIO_HEADERS), payload=sent_pcm).encode()
        return wrapper.encode()

    def _sign(self, event: EventMessage) -> EventMessage:
        """The wrapper: the signer turns `event` itself into it (`:date` and
        `:chunk-signature` headers, the encoded event as payload). The SDK's signer is
        async; each signature is made on a loop of its own."""
        signed = asyncio.run(
            self._signer.sign(event=event, identity=self._identity, properties=self._properties)
        )
        assert signed is event
        return event


def signed_request_headers(headers: dict[str, str], credentials: Credentials = CREDENTIALS) -> dict[str, str]:
    fields = Fields([Field(name=n, values=[v]) for n, v in {**headers, "content-type": EVENT_STREAM}.items()])
    fields.set_field(Field(name="host", values=["127.0.0.1"]))
    request = AWSRequest(
        destination=URI(host="127.0.0.1", path="/stream-transcription"),
        method="POST",
        body=None,
        fields=fields,
    )
    properties = SigV4SigningProperties(region=REGION, service="transcribe")
    signed = SigV4Signer().sign(request=request, identity=_identity(credentials), properties=properties)
    return {field.name.lower(): field.as_string() for field in signed.fields}


class RawClient:
    """One HTTP/2 connection over TLS (ALPN h2), one request at a time."""

    def __init__(self, base_url: str, ca_file: str) -> None:
        parts = urlsplit(base_url)
        context = ssl.create_default_context(cafile=ca_file)
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection((parts.hostname, parts.port), timeout=WAIT_S)
        self._socket = context.wrap_socket(raw, server_hostname=parts.hostname)
        self.alpn = self._socket.selected_alpn_protocol()
        self._h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self._h2.initiate_connection()
        self._flush()

    def close(self) -> None:
        self._socket.close()

    def get(self, path: str) -> RawResponse:
        stream_id = self._h2.get_next_available_stream_id()
        headers = [(":method", "GET"), (":scheme", "https"), (":authority", "127.0.0.1"), (":path", path)]
        self._h2.send_headers(stream_id, headers, end_stream=True)
        self._flush()
        return self._read_until_end(stream_id, RawResponse())

    def transcribe(self, headers: dict[str, str], body: Callable[[str], Iterator[bytes]]) -> RawResponse:
        """POST /stream-transcription with `headers` signed; `body(authorization)` gives
        the event-stream frames to send; returns once the server ends the stream."""
        signed = signed_request_headers(headers)
        pseudo = [(":method", "POST"), (":scheme", "https"), (":authority", "127.0.0.1")]
        request = [*pseudo, (":path", "/stream-transcription")]
        request += [(n, v) for n, v in signed.items() if n != "host"]
        stream_id = self._h2.get_next_available_stream_id()
        self._h2.send_headers(stream_id, request)
        self._flush()
        response = RawResponse()
        for frame in body(signed["authorization"]):
            self._send(stream_id, frame, response)
            if response.ended:
                return response
        self._h2.end_stream(stream_id)
        self._flush()
        return self._read_until_end(stream_id, response)

    def _send(self, stream_id: int, data: bytes, response: RawResponse) -> None:
        """Sends within the flow-control window, reading while it is full."""
        while data and not response.ended:
            room = min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
            if room <= 0:
                self._read(stream_id, response)
                continue
            self._h2.send_data(stream_id, data[:room])
            data = data[room:]
            self._flush()

    def _read_until_end(self, stream_id: int, response: RawResponse) -> RawResponse:
        while not response.ended:
            self._read(stream_id, response)
        return response

    def _read(self, stream_id: int, response: RawResponse) -> None:
        data = self._socket.recv(65536)
        if not data:
            response.ended = True
            return
        for event in self._h2.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                response.headers = {str(k): str(v) for k, v in event.headers or []}
                response.status = int(response.headers[":status"])
            elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream_id:
                response.body += event.data or b""
                self._h2.acknowledge_received_data(event.flow_controlled_length, stream_id)
            elif (
                isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset))
                and event.stream_id == stream_id
            ) or isinstance(event, h2.events.ConnectionTerminated):
                response.ended = True
        self._flush()

    def _flush(self) -> None:
        self._socket.sendall(self._h2.data_to_send())
