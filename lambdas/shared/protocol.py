"""Server messages and error codes of the WebSocket protocol (docs/PROTOCOL.md).

Every message a function sends is built here, one builder per type (SERVER_MESSAGE_TYPES),
so that its fields are written once; tests/unit/shared/test_protocol_doc.py holds the builders to
the document and the rest of lambdas/ to the builders."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

MAX_MESSAGE_BYTES = 32 * 1024  # one API Gateway WebSocket frame

# The client actions: each is a WebSocket route of the stage (infra) and a validated model
# of the connection handler (connection_handler/messages.py, keyed by these names).
CLIENT_ACTIONS = (
    "createSession",
    "joinSession",
    "switchLanguage",
    "audioChunk",
    "pauseBroadcast",
    "resumeBroadcast",
    "endSession",
    "heartbeat",
    "getTranscript",
)


class ErrorCode(StrEnum):
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    INVALID_JSON = "INVALID_JSON"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    UNKNOWN_ACTION = "UNKNOWN_ACTION"
    FORBIDDEN = "FORBIDDEN"
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


@dataclass(frozen=True)
class Resumed:
    """A speaker's new connection took its session over: where the session stands."""

    status: str
    last_seq: int  # the highest chunk seq stored: resend what came after it


def session_created(
    session_id: str,
    source_language: str,
    title: str,
    listener_url: str,
    expires_at: int,
    resumed: Resumed | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "sessionCreated",
        "sessionId": session_id,
        "sourceLanguage": source_language,
        "title": title,
        "listenerUrl": listener_url,
        "expiresAt": expires_at,
    }
    if resumed is not None:
        body.update({"resumed": True, "status": resumed.status, "lastSeq": resumed.last_seq})
    return body


def session_joined(
    session_id: str,
    target_language: str,
    source_language: str,
    title: str,
    status: str,
    languages: list[str],
    rejoin_token: str | None = None,
) -> dict[str, Any]:
    """`languages`: what the session can be heard in (the app's picker offers only these)."""
    body: dict[str, Any] = {
        "type": "sessionJoined",
        "sessionId": session_id,
        "targetLanguage": target_language,
        "sourceLanguage": source_language,
        "title": title,
        "status": status,
        "languages": languages,
    }
    if rejoin_token is not None:
        body["rejoinToken"] = rejoin_token
    return body


def session_status(kind: Literal["sessionPaused", "sessionResumed"], session_id: str) -> dict[str, Any]:
    return {"type": kind, "sessionId": session_id}


def session_suspended(session_id: str, resume_by: int) -> dict[str, Any]:
    return {
        "type": "sessionSuspended",
        "sessionId": session_id,
        "reason": "speakerDisconnected",
        "resumeBy": resume_by,
    }


def session_ended(session_id: str, reason: str) -> dict[str, Any]:
    return {"type": "sessionEnded", "sessionId": session_id, "reason": reason}


def heartbeat(server_time_ms: int) -> dict[str, Any]:
    return {"type": "heartbeat", "serverTime": server_time_ms}


def transcript(
    session_id: str, index: int, text: str, start_ms: int, duration_ms: int, missed_ms: int = 0
) -> dict[str, Any]:
    """What the service heard of one utterance, for the speaker; `missedMs` when audio
    before it never arrived (the talk went on without it)."""
    body: dict[str, Any] = {
        "type": "transcript",
        "sessionId": session_id,
        "index": index,
        "text": text,
        "startMs": start_ms,
        "durationMs": duration_ms,
    }
    if missed_ms:
        body["missedMs"] = missed_ms
    return body


@dataclass(frozen=True)
class Caption:
    """One utterance's text in one listener language: what `translatedText` carries, at
    once, and `translatedAudio` again with its clip."""

    language: str
    index: int
    text: str
    source_text: str
    start_ms: int
    duration_ms: int

    def fields(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "index": self.index,
            "text": self.text,
            "sourceText": self.source_text,
            "startMs": self.start_ms,
            "durationMs": self.duration_ms,
        }


@dataclass(frozen=True)
class Clip:
    """One utterance's translated speech in one language, as stored."""

    caption: Caption
    url: str
    expires_at: int
    clip_ms: int


def translated_text(session_id: str, caption: Caption) -> dict[str, Any]:
    """The caption, sent as soon as the translation exists: before synthesis."""
    return {"type": "translatedText", "sessionId": session_id, **caption.fields()}


def translated_audio(session_id: str, clip: Clip) -> dict[str, Any]:
    return {
        "type": "translatedAudio",
        "sessionId": session_id,
        **clip.caption.fields(),
        "url": clip.url,
        "expiresAt": clip.expires_at,
        "clipMs": clip.clip_ms,
    }


def partial_transcript(session_id: str, index: int, text: str, unstable_text: str) -> dict[str, Any]:
    """The running utterance as recognized so far, for the speaker: `text` (stable words,
    which the utterance's `transcript` will start with) and `unstableText` (words the
    recognizer may still change). Rate-limited by the worker."""
    return {
        "type": "partialTranscript",
        "sessionId": session_id,
        "index": index,
        "text": text,
        "unstableText": unstable_text,
    }


@dataclass(frozen=True)
class Provisional:
    """One stable clause of a running utterance, translated: the listener shows the clauses
    of the running index in `seq` order until that index's final caption replaces them."""

    language: str
    index: int
    seq: int
    text: str
    source_text: str
    start_ms: int
    duration_ms: int


def provisional_caption(session_id: str, provisional: Provisional) -> dict[str, Any]:
    return {
        "type": "provisionalCaption",
        "sessionId": session_id,
        "language": provisional.language,
        "index": provisional.index,
        "seq": provisional.seq,
        "text": provisional.text,
        "sourceText": provisional.source_text,
        "startMs": provisional.start_ms,
        "durationMs": provisional.duration_ms,
    }


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


SERVER_MESSAGE_TYPES = (
    "sessionCreated",
    "sessionJoined",
    "sessionPaused",
    "sessionResumed",
    "sessionSuspended",
    "sessionEnded",
    "heartbeat",
    "transcript",
    "partialTranscript",
    "provisionalCaption",
    "translatedText",
    "translatedAudio",
    "listenerStats",
    "transcriptReady",
    "error",
)
