"""AWS event-stream messages for the local endpoints, encoded and decoded by the
amazon-transcribe SDK's own code, so that both ends of a local stream read the bytes
the same way the SDK does against AWS.

A message: prelude (total length, headers length, CRC32), headers, payload, CRC32 of
the whole. A client's audio event is a message inside a signed wrapper message whose
headers are `:date` and `:chunk-signature` (local/endpoints/signing.py checks them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from amazon_transcribe.eventstream import (
    EventStreamBuffer,
    EventStreamMessage,
    EventStreamMessageSerializer,
    ParserError,
)

_SERIALIZER = EventStreamMessageSerializer()
JSON = "application/json"

__all__ = [
    "Message",
    "MessageReader",
    "ParserError",
    "decode_one",
    "encode",
    "event_message",
    "exception_message",
]


@dataclass(frozen=True)
class Message:
    headers: dict[str, Any]
    payload: bytes

    def header(self, name: str) -> Any:
        return self.headers.get(name)


def encode(headers: dict[str, Any], payload: bytes) -> bytes:
    return _SERIALIZER.serialize(headers, payload)


def event_message(event_type: str, body: dict[str, Any]) -> bytes:
    """An event of the service's output stream (`TranscriptEvent`), its body as JSON."""
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": JSON}
    return encode(headers, json.dumps(body).encode())


def exception_message(exception_type: str, message: str) -> bytes:
    """A modeled exception in the middle of a stream: the SDKs read `:exception-type`
    (the guide's example shows `:event-type`; the SDKs are what clients run)."""
    headers = {":message-type": "exception", ":exception-type": exception_type, ":content-type": JSON}
    return encode(headers, json.dumps({"Message": message}).encode())


class MessageReader:
    """Whole messages out of bytes arriving in pieces of any size. A corrupt message
    (bad CRC, oversized) raises ParserError."""

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()

    def feed(self, data: bytes) -> list[Message]:
        self._buffer.add_data(data)
        messages: list[EventStreamMessage] = list(self._buffer)
        # The SDK annotates the payload as its stream class; it holds the message's bytes.
        return [Message(dict(m.headers), cast(bytes, m.payload)) for m in messages]


def decode_one(data: bytes) -> Message:
    """The one message `data` holds (a wrapper's payload)."""
    messages = MessageReader().feed(data)
    if len(messages) != 1:
        raise ParserError(f"expected one whole message, found {len(messages)}")
    return messages[0]
