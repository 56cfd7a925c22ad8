"""What travels between functions: the audio inside the worker, and the utterance the
worker hands to the processor. Defined once here; both sides import it. (The chunks the
connection handler hands to the chunk writer: shared/chunk_events.py.)

Audio: mono 16-bit little-endian PCM at one rate. The worker decodes every chunk to it
and streams it to the recognizer (and the local recognizer hears the same).

Utterance: one recognized sentence (or clause) on the talk's timeline. The worker sends
it (`payload()`) as the processor's invocation event; the processor validates the event
with this same model, so a field renamed on one side fails on both."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.languages import is_source_language
from shared.session_ids import is_session_id

PCM_SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2

MAX_UTTERANCE_TEXT = 5000  # Translate's own limit per request is 10,000 bytes
MAX_UTTERANCE_MS = 120_000  # the cutter ends utterances after seconds; minutes are not ours
MAX_CLAUSES = 64  # stable clauses of one running utterance (a handful in practice)


class _SpokenUnit(BaseModel):
    """What every unit from the worker carries: a piece of one session's speech, on the
    talk's timeline, in the session's source language; checked alike on both sides."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    session_id: str = Field(alias="sessionId")
    index: int = Field(ge=0)
    start_ms: int = Field(alias="startMs", ge=0)
    duration_ms: int = Field(alias="durationMs", ge=1, le=MAX_UTTERANCE_MS)
    source_language: str = Field(alias="sourceLanguage")
    text: str = Field(min_length=1, max_length=MAX_UTTERANCE_TEXT)

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

    def payload(self) -> dict[str, Any]:
        """The invocation event, in the wire's camelCase names."""
        return self.model_dump(by_alias=True)


class UtteranceUnit(_SpokenUnit):
    """s3_audio_consumer -> audio_processor: one utterance to translate and speak."""

    # Audio that never arrived just before this utterance (chunks lost and skipped): the
    # speaker is told with this utterance's transcript line.
    missed_before_ms: int = Field(alias="missedBeforeMs", default=0, ge=0)
    # The stable clauses of this utterance that listeners were already shown as provisional
    # captions (ClauseUnit seq 0, 1, ...), in order: the text starts with them, and the
    # final caption reuses their translations (docs/ARCHITECTURE.md §15).
    provisional: tuple[str, ...] = Field(default=(), max_length=MAX_CLAUSES)


class ClauseUnit(_SpokenUnit):
    """s3_audio_consumer -> audio_processor: one stable clause of the running utterance
    `index` (its `seq`-th), to translate once per listener language and show as a
    provisional caption. `kind` tells it from an `UtteranceUnit` in the processor's event."""

    kind: Literal["clause"] = "clause"
    seq: int = Field(ge=0, lt=MAX_CLAUSES)


def is_clause_event(event: dict[str, Any]) -> bool:
    return event.get("kind") == "clause"
