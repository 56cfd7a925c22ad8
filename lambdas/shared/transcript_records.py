"""What the audio_processor records of each utterance, for the transcripts: its place on
the talk's timeline, the source text and every translation a clip was made of. One JSON
object per utterance in the translation bucket (`resources.utterance_record_key`), under
the session's prefix, so it has the clips' lifecycle.

And the request for a transcript, which the connection handler sends the transcripts
function (`TranscriptRequest`): built and validated with the same model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.languages import is_target_language
from shared.session_ids import SESSION_ID_PATTERN

# API Gateway's connection ids (and the local gateway's): base64 of a few bytes.
CONNECTION_ID_PATTERN = r"^[A-Za-z0-9_=+-]{1,128}$"


@dataclass(frozen=True)
class UtteranceRecord:
    session_id: str
    index: int
    start_ms: int
    duration_ms: int
    source_language: str
    source_text: str
    translations: dict[str, str] = field(default_factory=dict)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms

    def text_in(self, language: str) -> str | None:
        """The utterance in `language`: the source text, a translation, or None."""
        if language == self.source_language:
            return self.source_text
        return self.translations.get(language)

    def to_json(self) -> str:
        return json.dumps(
            {
                "sessionId": self.session_id,
                "index": self.index,
                "startMs": self.start_ms,
                "durationMs": self.duration_ms,
                "sourceLanguage": self.source_language,
                "sourceText": self.source_text,
                "translations": dict(sorted(self.translations.items())),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> UtteranceRecord:
        raw: dict[str, Any] = json.loads(text)
        return cls(
            session_id=str(raw["sessionId"]),
            index=int(raw["index"]),
            start_ms=int(raw["startMs"]),
            duration_ms=int(raw["durationMs"]),
            source_language=str(raw["sourceLanguage"]),
            source_text=str(raw["sourceText"]),
            translations={str(k): str(v) for k, v in raw.get("translations", {}).items()},
        )


@dataclass(frozen=True)
class RecordListing:
    """The keys of a session's utterance records, and a fingerprint of them (their keys and
    ETags): equal fingerprints, the same records."""

    keys: tuple[str, ...]
    fingerprint: str


class TranscriptRequest(BaseModel):
    """connection_handler -> transcripts: which transcript, and the connection to answer."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    # Both name S3 keys (resources.transcript_key): only a session code and a known language.
    session_id: str = Field(alias="sessionId", pattern=SESSION_ID_PATTERN.pattern)
    language: str
    connection_id: str = Field(alias="connectionId", pattern=CONNECTION_ID_PATTERN)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if not is_target_language(value):
            raise ValueError(f"no language {value!r}")
        return value

    def payload(self) -> dict[str, Any]:
        """The invocation event, in the wire's camelCase names."""
        return self.model_dump(by_alias=True)
