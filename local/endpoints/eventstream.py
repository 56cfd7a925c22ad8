"""AWS event-stream messages for the local endpoints, encoded and decoded by the
event-stream code of aws-sdk-transcribe-streaming (smithy-aws-event-stream), so that
both ends of a local stream read the bytes the same way the SDK does against AWS.

A message: prelude (total length, headers length, CRC32), headers, payload, CRC32 of
the whole. A client's audio event is a message inside a signed wrapper message whose
headers are `:date` (a timestamp) and `:chunk-signature` (local/endpoints/signing.py
checks them)."""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from typing import Any

from smithy_aws_event_stream.events import (
    MAX_HEADERS_LENGTH,
    MAX_PAYLOAD_LENGTH,
    Event,
    EventMessage,
)
from smithy_aws_event_stream.exceptions import EventError

JSON = "application/json"
_PRELUDE_BYTES = 12
_METADATA_BYTES = 16  # the prelude and the trailing CRC32

# The SDK's decoding errors (bad CRC, oversized parts) under the name the endpoint catches.
ParserError = EventError

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
    return EventMessage(headers=headers, payload=payload).encode()


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
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages: list[Message] = []
        while (length := self._next_length()) is not None and len(self._buffer) >= length:
            event = Event.decode(io.BytesIO(bytes(self._buffer[:length])))
            del self._buffer[:length]
            if event is not None:
                messages.append(Message(dict(event.message.headers), bytes(event.message.payload)))
        return messages

    def _next_length(self) -> int | None:
        """The next message's total length once its prelude is in; an impossible one is
        refused at once rather than waited for (the SDK checks it only when decoding)."""
        if len(self._buffer) < _PRELUDE_BYTES:
            return None
        total, headers = struct.unpack("!II", self._buffer[:8])
        if headers > MAX_HEADERS_LENGTH or not 0 <= total - headers - _METADATA_BYTES <= MAX_PAYLOAD_LENGTH:
            raise ParserError(f"an event-stream message of {total} bytes ({headers} of headers)")
        return int(total)


def decode_one(data: bytes) -> Message:
    """The one message `data` holds (a wrapper's payload)."""
    messages = MessageReader().feed(data)
    if len(messages) != 1:
        raise ParserError(f"expected one whole message, found {len(messages)}")
    return messages[0]
