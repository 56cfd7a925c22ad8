"""Live text while the speaker talks (docs/ARCHITECTURE.md §15).

After each look at the stream's results the worker shows the running utterance (the
open partial's words not emitted yet, `UtteranceCutter.running`):
- to the speaker, a `partialTranscript` (its stable text and its unstable tail), at most
  every `partial_interval_s` and only when the stable text changed: one API Gateway
  message each, posted from here (no Lambda in between);
- to listeners, each new **stable clause** (stable words up to a clause end, at least
  `min_clause_words` words) once: handed to the processor, which translates it once per
  language and posts a `provisionalCaption`.

When the running utterance is emitted, `settle` names the clauses already shown
(`Utterance.provisional`) if the utterance's text starts with them, so the processor
reuses their translations in the final caption: a word shown stays, and no clause is
translated twice. After a crash or a handover the successor knows nothing of them: the
final caption of the same index replaces what was shown, translated whole."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from s3_audio_consumer.ports import LiveSink
from s3_audio_consumer.utterances import CLAUSE_ENDS, Running, Utterance
from shared import protocol
from shared.audio_unit import MAX_CLAUSES, ClauseUnit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveSettings:
    partial_interval_s: float = 0.7  # API Gateway bills each message: ~1.4 a second at most
    min_clause_words: int = 4  # "So," alone is neither worth a translation nor translates well
    max_clause_ms: int = 6000  # the cutter's max_utterance_ms: a clause always ends before its cut


@dataclass
class _Shown:
    """What was shown of the running utterance `index`."""

    index: int = -1
    clauses: list[str] = field(default_factory=list)
    covered: int = 0  # words of `Running.words` inside the clauses sent
    separator: str = " "
    partial_text: str | None = None
    partial_at: float = float("-inf")


class LiveText:
    def __init__(
        self,
        sink: LiveSink,
        clock: Callable[[], float],
        settings: LiveSettings | None = None,
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._settings = settings or LiveSettings()
        self._shown = _Shown()
        self.partials = 0
        self.clauses = 0

    def observe(
        self, session_id: str, source_language: str, speaker_connection_id: str, running: Running | None
    ) -> None:
        if running is None:
            return
        if running.index != self._shown.index:
            self._shown = _Shown(index=running.index, separator=running.separator)
        self._clause(session_id, source_language, running)
        if speaker_connection_id:
            self._partial(session_id, speaker_connection_id, running)

    def settle(self, utterance: Utterance) -> Utterance:
        """The utterance with the clauses shown of it, when its text starts with them."""
        shown = self._shown
        if utterance.index < shown.index:
            return utterance
        self._shown = _Shown(index=utterance.index + 1)
        if utterance.index > shown.index or not shown.clauses:
            return utterance
        if not utterance.text.startswith(shown.separator.join(shown.clauses)):
            logger.info("utterance does not start with its shown clauses", extra={"index": shown.index})
            return utterance
        return replace(utterance, provisional=tuple(shown.clauses))

    def _clause(self, session_id: str, source_language: str, running: Running) -> None:
        shown = self._shown
        end = _clause_end(running, shown.covered, self._settings)
        if end is None or len(shown.clauses) >= MAX_CLAUSES:
            return
        text = running.text(shown.covered, end)
        start_ms, duration_ms = running.span_ms(shown.covered, end)
        shown.covered = end
        if not text:
            return
        clause = ClauseUnit(
            session_id=session_id,
            index=running.index,
            seq=len(shown.clauses),
            start_ms=start_ms,
            duration_ms=duration_ms,
            source_language=source_language,
            text=text,
        )
        shown.clauses.append(text)
        self.clauses += 1
        try:
            self._sink.clause(clause)
        except Exception:  # the final caption still comes; it re-translates what was lost
            logger.warning("clause hand-off failed", extra={"sessionId": session_id, "index": running.index})

    def _partial(self, session_id: str, speaker: str, running: Running) -> None:
        shown = self._shown
        text = running.text(0, running.stable)
        due = self._clock() - shown.partial_at >= self._settings.partial_interval_s
        if not due or not text or text == shown.partial_text:
            return
        shown.partial_text, shown.partial_at = text, self._clock()
        message = protocol.partial_transcript(session_id, running.index, text, running.text(running.stable))
        self.partials += 1
        try:
            self._sink.partial(speaker, message)
        except Exception:
            logger.warning("partial transcript not posted", extra={"sessionId": session_id})


def _clause_end(running: Running, covered: int, settings: LiveSettings) -> int | None:
    """The end (exclusive) of the longest run of whole stable clauses after `covered`
    with at least `min_clause_words` words, ending within `max_clause_ms` of the running
    utterance's first word (so the cutter never cuts the utterance before it)."""
    spoken = [word for word in running.words if not word.punctuation]
    if not spoken:
        return None
    first_s = spoken[0].start_s
    words, end = 0, None
    for position in range(covered, running.stable):
        word = running.words[position]
        if not word.punctuation:
            words += 1
            continue
        within = (word.end_s - first_s) * 1000 <= settings.max_clause_ms
        if word.content[-1] in CLAUSE_ENDS and words >= settings.min_clause_words and within:
            end = position + 1
    return end
