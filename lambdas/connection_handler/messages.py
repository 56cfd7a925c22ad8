"""Client actions as validated models (docs/PROTOCOL.md)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.languages import LANGUAGES
from shared.session_ids import SESSION_ID_PATTERN

SessionId = Annotated[str, Field(pattern=SESSION_ID_PATTERN.pattern)]
LanguageCode = Annotated[str, Field(min_length=2, max_length=5)]


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    action: str


class CreateSession(Action):
    action: Literal["createSession"]
    sourceLanguage: LanguageCode
    title: Annotated[str, Field(max_length=120)] | None = None
    # A speaker renewing its connection re-attaches to its own live session.
    resumeSessionId: SessionId | None = None


class JoinSession(Action):
    action: Literal["joinSession"]
    sessionId: SessionId
    targetLanguage: LanguageCode
    # From the last sessionJoined: a listener renewing its connection is not counted
    # against the join limits or the listener cap (single use).
    rejoinToken: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")] | None = None


class SwitchLanguage(Action):
    action: Literal["switchLanguage"]
    targetLanguage: LanguageCode


class AudioChunk(Action):
    action: Literal["audioChunk"]
    sessionId: SessionId
    seq: Annotated[int, Field(ge=0, le=10_000_000)]
    data: Annotated[str, Field(min_length=4, max_length=32 * 1024)]

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("data must be base64") from error
        return value


class SessionControl(Action):
    action: Literal["pauseBroadcast", "resumeBroadcast", "endSession"]
    sessionId: SessionId
    # endSession: the last chunk seq the speaker sent (-1: none). On AWS the end may overtake
    # the last chunks; with it, those chunks are still taken after the end.
    lastSeq: Annotated[int, Field(ge=-1, le=10_000_000)] | None = None


class Heartbeat(Action):
    action: Literal["heartbeat"]


class GetTranscript(Action):
    action: Literal["getTranscript"]
    sessionId: SessionId
    language: LanguageCode


# One model per action of shared.protocol.CLIENT_ACTIONS (tests/unit/shared/test_protocol_doc.py).
ACTIONS: dict[str, type[Action]] = {
    "createSession": CreateSession,
    "joinSession": JoinSession,
    "switchLanguage": SwitchLanguage,
    "audioChunk": AudioChunk,
    "pauseBroadcast": SessionControl,
    "resumeBroadcast": SessionControl,
    "endSession": SessionControl,
    "heartbeat": Heartbeat,
    "getTranscript": GetTranscript,
}

SUPPORTED = sorted(LANGUAGES)
