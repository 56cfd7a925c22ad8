"""What the processor reports back for one utterance. What it receives is
`shared.audio_unit.UtteranceUnit`, the model the worker sends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageTimes:
    """Milliseconds spent per stage; per-language stages add up over languages."""

    translate: float = 0.0
    synthesize: float = 0.0
    store: float = 0.0
    deliver: float = 0.0
    total: float = 0.0  # wall clock of the whole utterance; languages run in parallel


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
class UtteranceReport:
    session_id: str
    index: int
    request_id: str = ""
    outcome: str = (
        "delivered"  # delivered | empty | no_listeners (and the handler's invalid | duplicate | in_progress)
    )
    source_text: str = ""
    languages: list[str] = field(default_factory=list)
    failed_languages: list[str] = field(default_factory=list)
    already_delivered: list[str] = field(default_factory=list)
    clips: int = 0
    messages_sent: int = 0
    listeners_removed: int = 0
    retries: int = 0
    translated_chars: int = 0  # characters sent to Translate (clauses shown before are reused)
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
            "translatedChars": self.translated_chars,
            "timesMs": {k: round(v, 1) for k, v in vars(self.times).items()},
            "fits": {language: fit.as_dict() for language, fit in sorted(self.fits.items())},
        }
