"""Server messages and error codes of the WebSocket protocol (docs/PROTOCOL.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

MAX_MESSAGE_BYTES = 32 * 1024  # one API Gateway WebSocket frame


class ErrorCode(StrEnum):
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    INVALID_JSON = "INVALID_JSON"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    UNKNOWN_ACTION = "UNKNOWN_ACTION"
    FORBIDDEN = "FORBIDDEN"
    NOT_SESSION_SPEAKER = "NOT_SESSION_SPEAKER"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    SESSION_ENDED = "SESSION_ENDED"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    SESSION_FULL = "SESSION_FULL"
    NOT_JOINED = "NOT_JOINED"
    UNSUPPORTED_LANGUAGE = "UNSUPPORTED_LANGUAGE"
    RATE_LIMITED = "RATE_LIMITED"
    BROADCAST_PAUSED = "BROADCAST_PAUSED"
    INVALID_AUDIO = "INVALID_AUDIO"
    SEQ_OUT_OF_RANGE = "SEQ_OUT_OF_RANGE"
    SESSION_IN_PROGRESS = "SESSION_IN_PROGRESS"
    TRANSLATION_UNAVAILABLE = "TRANSLATION_UNAVAILABLE"
    NO_TRANSCRIPT = "NO_TRANSCRIPT"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ProtocolError(Exception):
    """A request the client must change; it goes back as an `error` message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_message(code: ErrorCode, message: str, action: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "code": code.value, "message": message}
    if action:
        body["action"] = action
    body.update(extra)
    return body


def listener_stats(session_id: str, counts: dict[str, int]) -> dict[str, Any]:
    """What the speaker sees of its audience: listeners per language and in all."""
    return {
        "type": "listenerStats",
        "sessionId": session_id,
        "listeners": counts,
        "total": sum(counts.values()),
    }


def transcript_ready(
    session_id: str, language: str, urls: dict[str, str], expires_at: int, utterances: int
) -> dict[str, Any]:
    """The transcript of what has been said so far in one language: a presigned GET per format."""
    return {
        "type": "transcriptReady",
        "sessionId": session_id,
        "language": language,
        "urls": urls,
        "expiresAt": expires_at,
        "utterances": utterances,
    }
