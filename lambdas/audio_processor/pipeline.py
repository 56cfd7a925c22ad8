"""One recognized utterance -> per listener language, its caption at once, then its clip
-> listeners; the speaker sees the utterance's text before any translation.

Knows nothing of Lambda: the handler parses the event and maps the report to metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from audio_processor.clip_fit import AudioTool, ClipFitter, FitSettings, FittedClip
from audio_processor.model import ClipFit, StageTimes, UtteranceReport
from audio_processor.ports import (
    ClipStore,
    DeliveryLedger,
    ListenerDirectory,
    Sender,
    SessionDirectory,
    Synthesizer,
    Translator,
    UtteranceRecords,
)
from audio_processor.provisional import ClauseTranslations, ClauseTranslator, ProvisionalCaptions
from audio_processor.retry import Deadline, RetryPolicy
from shared import protocol, resources
from shared.audio_unit import UtteranceUnit
from shared.languages import LANGUAGES, Language
from shared.protocol import ErrorCode, error_message, listener_stats
from shared.transcript_records import UtteranceRecord

logger = logging.getLogger(__name__)

SPEAKER_TRANSCRIPT = "_transcript"  # ledger slot of the speaker's transcript message


def caption_slot(language: str) -> str:
    """Ledger slot of a language's `translatedText` (its `translatedAudio` has the code itself)."""
    return f"{language}#text"


@dataclass(frozen=True)
class PipelineSettings:
    url_seconds: int = 600
    language_workers: int = 8
    fit: FitSettings = field(default_factory=FitSettings)


@dataclass(frozen=True)
class Engines:
    translator: Translator
    synthesizer: Synthesizer
    audio: AudioTool  # decodes and re-encodes clips to fit them to their time


@dataclass(frozen=True)
class Stores:
    clips: ClipStore
    listeners: ListenerDirectory
    sessions: SessionDirectory
    ledger: DeliveryLedger
    sender: Sender
    records: UtteranceRecords  # what was said and delivered: the transcripts' source
    # Clause translations shown as provisional captions, reused by the final (§15).
    clauses: ClauseTranslations | None = None


class _Work:
    """Per-invocation state: the report, with a lock for the language threads."""

    def __init__(self, unit: UtteranceUnit, deadline: Deadline) -> None:
        self.unit = unit
        self.deadline = deadline
        self.report = UtteranceReport(session_id=unit.session_id, index=unit.index)
        self.lock = threading.Lock()
        self.gone: set[str] = set()
        self.audience: dict[str, list[str]] = {}
        self.speaker: str | None = None
        self.translations: dict[str, str] = {}  # language -> text of a clip that was made

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            with self.lock:
                times: StageTimes = self.report.times
                setattr(times, stage, getattr(times, stage) + elapsed)

    def count_retry(self) -> None:
        with self.lock:
            self.report.retries += 1


def _fit_of(clip: FittedClip) -> ClipFit:
    return ClipFit(clip.natural_ratio, clip.ratio, clip.voice_rate, clip.tempo, clip.clip_ms)


class SpeechPipeline:
    def __init__(
        self,
        engines: Engines,
        stores: Stores,
        retry: RetryPolicy,
        clock: Callable[[], float] = time.time,
        settings: PipelineSettings | None = None,
    ) -> None:
        self._engines = engines
        self._stores = stores
        self._retry = retry
        self._clock = clock
        self._settings = settings or PipelineSettings()
        self._pool = ThreadPoolExecutor(max_workers=self._settings.language_workers)
        # Captions are posted on their own threads: a language's thread waits for its
        # caption, and a shared pool full of waiting languages would never run it.
        self._sends = ThreadPoolExecutor(max_workers=self._settings.language_workers)
        # One per warm container: it learns each voice's pace across invocations.
        self._fitter = ClipFitter(engines.synthesizer, engines.audio, self._settings.fit)
        clauses = stores.clauses
        self._clauses = (
            ClauseTranslator(engines.translator, clauses, stores.ledger, retry) if clauses else None
        )

    def provisional(self) -> ProvisionalCaptions | None:
        """The clause path beside this pipeline: same translator, listeners, ledger, sender."""
        if self._clauses is None:
            return None
        stores = self._stores
        return ProvisionalCaptions(
            self._clauses, stores.listeners, stores.ledger, stores.sender, self._settings.language_workers
        )

    def process(self, unit: UtteranceUnit, deadline: Deadline) -> UtteranceReport:
        started = time.perf_counter()
        work = _Work(unit, deadline)
        try:
            self._process(work)
            self._forget_gone(work)
        finally:
            work.report.times.total = (time.perf_counter() - started) * 1000
        return work.report

    def _process(self, work: _Work) -> None:
        unit, report = work.unit, work.report
        report.source_text = unit.text.strip()
        if not report.source_text:
            report.outcome = "empty"
            return
        source = LANGUAGES[unit.source_language]
        audience_future = self._pool.submit(self._audience, unit.session_id)
        self._send_transcript(work)
        work.audience = audience = audience_future.result()
        report.languages = sorted(audience)
        if not audience:
            report.outcome = "no_listeners"
            self._record(work)
            return
        futures = [
            self._pool.submit(self._serve_language, work, source, LANGUAGES[code], listeners)
            for code, listeners in audience.items()
        ]
        for future in futures:
            future.result()
        self._record(work)

    def _record(self, work: _Work) -> None:
        """Keeps the utterance for the transcripts; a failure here costs no listener a clip."""
        unit = work.unit
        record = UtteranceRecord(
            session_id=unit.session_id,
            index=unit.index,
            start_ms=unit.start_ms,
            duration_ms=unit.duration_ms,
            source_language=unit.source_language,
            source_text=work.report.source_text,
            translations=dict(work.translations),
        )
        try:
            self._stores.records.put(record)
        except Exception:
            logger.exception("utterance not recorded for the transcript")

    def _audience(self, session_id: str) -> dict[str, list[str]]:
        by_language: dict[str, list[str]] = defaultdict(list)
        for connection_id, language in self._stores.listeners.listeners(session_id):
            if language in LANGUAGES:
                by_language[language].append(connection_id)
        return dict(by_language)

    def _serve_language(self, work: _Work, source: Language, target: Language, listeners: list[str]) -> None:
        """The caption goes out as soon as the translation exists; the voice follows."""
        try:
            text = self._translation(work, source, target)
        except Exception:
            self._give_up(work, target.code, listeners, "no translation for this language")
            return
        if not text.strip():
            return
        with work.lock:  # in the transcript, whether captioned now or by an earlier attempt
            work.translations[target.code] = text
        caption = self._caption(work, target.code, text)
        # Synthesis starts while the caption is on its way (a large audience's posts take a
        # while); the clip waits for the caption only so that no listener gets it first.
        captioned = self._sends.submit(self._send_caption, work, caption, listeners)
        try:
            clip = self._clip(work, caption, target)
        except Exception:
            captioned.result()
            self._give_up(work, target.code, listeners, "no clip for this language")
            return
        captioned.result()
        self._deliver_clip(work, clip, listeners)

    def _send_caption(self, work: _Work, caption: protocol.Caption, listeners: list[str]) -> None:
        if self._stores.ledger.claim(work.unit.session_id, work.unit.index, caption_slot(caption.language)):
            message = protocol.translated_text(work.unit.session_id, caption)
            self._send(work, [(connection_id, message) for connection_id in listeners])

    def _translation(self, work: _Work, source: Language, target: Language) -> str:
        text = work.report.source_text
        if self._clauses is not None and work.unit.provisional:
            with work.timed("translate"):
                translated, chars = self._clauses.final(work.unit, target, work.deadline)
            with work.lock:
                work.report.translated_chars += chars
            return translated
        if target.code == source.code:
            return text
        with work.lock:
            work.report.translated_chars += len(text)
        with work.timed("translate"):
            return self._retry.call(
                lambda: self._engines.translator.translate(text, source, target),
                work.deadline,
                work.count_retry,
            )

    def _caption(self, work: _Work, language: str, text: str) -> protocol.Caption:
        unit = work.unit
        return protocol.Caption(
            language=language,
            index=unit.index,
            text=text,
            source_text=work.report.source_text,
            start_ms=unit.start_ms,
            duration_ms=unit.duration_ms,
        )

    def _clip(self, work: _Work, caption: protocol.Caption, target: Language) -> protocol.Clip:
        """Synthesis fitted to the source's time, stored, and a URL to fetch it by."""
        unit = work.unit
        with work.timed("synthesize"):
            fitted = self._retry.call(
                lambda: self._fitter.speak(caption.text, target, unit.duration_ms),
                work.deadline,
                work.count_retry,
            )
        with work.timed("store"):
            key = resources.translated_clip_key(unit.session_id, target.code, unit.index)
            url = self._stores.clips.put(key, fitted.mp3)
        with work.lock:
            work.report.fits[target.code] = _fit_of(fitted)
        return protocol.Clip(
            caption=caption,
            url=url,
            expires_at=int(self._clock()) + self._settings.url_seconds,
            clip_ms=fitted.clip_ms,
        )

    def _deliver_clip(self, work: _Work, clip: protocol.Clip, listeners: list[str]) -> None:
        unit, report, language = work.unit, work.report, clip.caption.language
        if not self._stores.ledger.claim(unit.session_id, unit.index, language):
            with work.lock:
                report.already_delivered.append(language)
                report.fits.pop(language, None)
            return
        with work.lock:
            report.clips += 1
        message = protocol.translated_audio(unit.session_id, clip)
        self._send(work, [(connection_id, message) for connection_id in listeners])

    def _give_up(self, work: _Work, language: str, listeners: list[str], why: str) -> None:
        logger.exception(why, extra={"language": language})
        with work.lock:
            work.report.failed_languages.append(language)
        self._send(work, self._unavailable(work, language, listeners))

    def _send_transcript(self, work: _Work) -> None:
        unit = work.unit
        work.speaker = speaker = self._stores.sessions.speaker_connection(unit.session_id)
        if not speaker or not self._stores.ledger.claim(unit.session_id, unit.index, SPEAKER_TRANSCRIPT):
            return
        message = protocol.transcript(
            unit.session_id,
            unit.index,
            work.report.source_text,
            unit.start_ms,
            unit.duration_ms,
            missed_ms=unit.missed_before_ms,
        )
        self._stores.sender.send_many([(speaker, message)])  # a vanished speaker is not removed here

    def _unavailable(
        self, work: _Work, language: str, listeners: list[str]
    ) -> list[tuple[str, dict[str, Any]]]:
        message = error_message(
            ErrorCode.TRANSLATION_UNAVAILABLE,
            f"no {language} audio for this part of the talk; it will resume with the next part",
            sessionId=work.unit.session_id,
            language=language,
            index=work.unit.index,
        )
        return [(connection_id, message) for connection_id in listeners]

    def _send(self, work: _Work, messages: list[tuple[str, dict[str, Any]]]) -> None:
        if not messages:
            return
        with work.timed("deliver"):
            gone = self._stores.sender.send_many(messages)
        with work.lock:
            work.report.messages_sent += len(messages) - len(gone)
            work.gone.update(gone)

    def _forget_gone(self, work: _Work) -> None:
        """Listeners that vanished (410) are removed; the speaker sees the new counts."""
        if not work.gone:
            return
        removed = self._stores.listeners.remove_gone(sorted(work.gone))
        work.report.listeners_removed = len(removed)
        speaker = work.speaker or self._stores.sessions.speaker_connection(work.unit.session_id)
        if not removed or not speaker:
            return
        counts = self._stores.listeners.counts(work.unit.session_id)
        self._stores.sender.send_many([(speaker, listener_stats(work.unit.session_id, counts))])
