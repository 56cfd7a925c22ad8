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

from pydantic import BaseModel, ConfigDict, Field


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


class TranscriptRequest(BaseModel):
    """connection_handler -> transcripts: which transcript, and the connection to answer."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    session_id: str = Field(alias="sessionId", min_length=1, max_length=64)
    language: str = Field(min_length=2, max_length=8)
    connection_id: str = Field(alias="connectionId", min_length=1, max_length=128)

    def payload(self) -> dict[str, Any]:
        """The invocation event, in the wire's camelCase names."""
        return self.model_dump(by_alias=True)
