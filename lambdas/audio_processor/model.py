"""What the processor receives (one PCM batch) and what it reports back."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.audio_unit import PCM_SAMPLE_RATE
from shared.languages import is_source_language
from shared.session_ids import is_session_id

MAX_BATCH_SECONDS = 30  # the consumer cuts ~3 s; anything far larger is not ours


class PcmBatch(BaseModel):
    """The payload s3_audio_consumer sends (`Batch.payload()`): mono s16le PCM, base64."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    session_id: str = Field(alias="sessionId")
    index: int = Field(ge=0)
    start_ms: int = Field(alias="startMs", ge=0)
    duration_ms: int = Field(alias="durationMs", ge=0)
    source_language: str = Field(alias="sourceLanguage")
    sample_rate: int = Field(alias="sampleRate", default=PCM_SAMPLE_RATE)
    first_seq: int = Field(alias="firstSeq", ge=0, default=0)
    last_seq: int = Field(alias="lastSeq", ge=0, default=0)
    pcm: bytes = b""
    # An utterance the session's streaming worker already recognized: translated and
    # spoken as it is, without transcribing `pcm` (the batch path's audio).
    text: str | None = Field(default=None, max_length=5000)

    @field_validator("session_id")
    @classmethod
    def _session_id(cls, value: str) -> str:
        if not is_session_id(value):
            raise ValueError("not a session id")
        return value

    @field_validator("source_language")
    @classmethod
    def _source(cls, value: str) -> str:
        if not is_source_language(value):
            raise ValueError(f"{value!r} is not a source language")
        return value

    @field_validator("sample_rate")
    @classmethod
    def _rate(cls, value: int) -> int:
        if value != PCM_SAMPLE_RATE:
            raise ValueError(f"sample rate must be {PCM_SAMPLE_RATE}")
        return value

    @field_validator("pcm", mode="before")
    @classmethod
    def _decode(cls, value: Any) -> bytes:
        if isinstance(value, bytes):
            raw = value
        elif isinstance(value, str):
            try:
                raw = base64.b64decode(value, validate=True)
            except binascii.Error as error:
                raise ValueError("pcm is not base64") from error
        else:
            raise ValueError("pcm must be base64 text")
        if len(raw) % 2:
            raise ValueError("pcm must hold whole 16-bit samples")
        if len(raw) > MAX_BATCH_SECONDS * PCM_SAMPLE_RATE * 2:
            raise ValueError(f"a batch holds at most {MAX_BATCH_SECONDS} s of audio")
        return raw


@dataclass(frozen=True)
class Transcript:
    """Every final segment of one batch, in order."""

    segments: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(s.strip() for s in self.segments if s.strip())


@dataclass
class StageTimes:
    """Milliseconds spent per stage; per-language stages add up over languages."""

    transcribe: float = 0.0
    translate: float = 0.0
    synthesize: float = 0.0
    store: float = 0.0
    deliver: float = 0.0
    total: float = 0.0  # wall clock of the whole batch; languages run in parallel


@dataclass(frozen=True)
class ClipFit:
    """How one language's clip was fitted to its source's time (see clip_fit)."""

    natural_ratio: float  # clip length / source length at the voice's own pace
    ratio: float  # as delivered
    voice_rate: float
    tempo: float
    clip_ms: int

    def as_dict(self) -> dict[str, float]:
        return {
            "naturalRatio": self.natural_ratio,
            "ratio": self.ratio,
            "voiceRate": self.voice_rate,
            "tempo": self.tempo,
            "clipMs": self.clip_ms,
        }


@dataclass
class BatchReport:
    session_id: str
    index: int
    request_id: str = ""
    outcome: str = "delivered"  # delivered | silent | empty | no_listeners | transcribe_failed | ...
    source_text: str = ""
    languages: list[str] = field(default_factory=list)
    failed_languages: list[str] = field(default_factory=list)
    already_delivered: list[str] = field(default_factory=list)
    clips: int = 0
    messages_sent: int = 0
    listeners_removed: int = 0
    retries: int = 0
    times: StageTimes = field(default_factory=StageTimes)
    fits: dict[str, ClipFit] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "index": self.index,
            "requestId": self.request_id,
            "outcome": self.outcome,
            "sourceText": self.source_text,
            "languages": self.languages,
            "failedLanguages": self.failed_languages,
            "alreadyDelivered": self.already_delivered,
            "clips": self.clips,
            "messagesSent": self.messages_sent,
            "listenersRemoved": self.listeners_removed,
            "retries": self.retries,
            "timesMs": {k: round(v, 1) for k, v in vars(self.times).items()},
            "fits": {language: fit.as_dict() for language, fit in sorted(self.fits.items())},
        }
