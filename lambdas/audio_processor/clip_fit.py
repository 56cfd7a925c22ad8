"""Speech that keeps time: a translated clip is fitted to the time of its source speech.

Spanish is 8-12 % longer than the English it translates; clips spoken at the voice's own
pace add up, and a listener drifts behind the talk. Each clip is therefore
1. spoken at a rate predicted from what this voice needed so far (ms per character,
   learned per language in the warm container) — the voice's own rate control (Polly's
   SSML `<prosody rate>`, espeak-ng's words per minute, Piper's length scale) sounds
   better than any stretch afterwards, and costs no second request;
2. trimmed of leading and trailing silence (dead time for a listener who is behind);
3. stretched with ffmpeg's `atempo` (pitch kept) for what the prediction missed.
The speed-up over the voice's natural pace never passes `max_speedup` (1.3 times: still easy
to follow); a clip that needs more is accepted longer, and the player catches up in the
pauses. Knows nothing of Polly or ffmpeg: both come in through ports."""

from __future__ import annotations

import logging
import threading
from array import array
from dataclasses import dataclass
from typing import Protocol

from shared.languages import Language

logger = logging.getLogger(__name__)


class AudioTool(Protocol):
    """Decodes and encodes the clips (ffmpeg on AWS and locally)."""

    @property
    def sample_rate(self) -> int: ...

    def decode(self, mp3: bytes) -> bytes:
        """Mono s16le PCM at `sample_rate`."""
        ...

    def encode(self, pcm: bytes, tempo: float) -> bytes:
        """MP3 of the PCM played `tempo` times faster, pitch kept."""
        ...


class RateSynthesizer(Protocol):
    def synthesize(self, text: str, language: Language, rate: float = 1.0) -> bytes: ...


@dataclass(frozen=True)
class FitSettings:
    max_speedup: float = 1.3  # over the voice's natural pace, voice rate and stretch together
    tolerance: float = 1.03  # closer than this to the target is a fit: no stretch for 3 %
    pause_credit_ms: int = 200  # an utterance ends at a pause; a clip may reach into it
    silence_dbfs: float = -45.0  # quieter than this at the ends of a clip is trimmed
    keep_ms: int = 30  # of silence kept at each end, so a clip does not start on a click
    min_trim_ms: int = 40  # trimming less than this is not worth a re-encode


@dataclass(frozen=True)
class FittedClip:
    mp3: bytes
    source_ms: int  # the source utterance's duration
    natural_ms: int  # the trimmed clip as the voice would say it at its own pace (estimated)
    clip_ms: int  # the clip delivered
    voice_rate: float  # asked of the voice
    tempo: float  # applied afterwards by the stretch

    @property
    def natural_ratio(self) -> float:
        """Clip length / source length before the fit."""
        return round(self.natural_ms / max(self.source_ms, 1), 3)

    @property
    def ratio(self) -> float:
        """Clip length / source length as delivered."""
        return round(self.clip_ms / max(self.source_ms, 1), 3)


class PaceMemory:
    """Milliseconds of speech per character, per language, from the clips made so far: an
    exponential average, so a new voice or a slower speaker is learned within a few clips."""

    DEFAULT_MS_PER_CHAR = 62.0  # neural voices speak ~15-17 characters a second

    def __init__(self, weight: float = 0.3) -> None:
        self._weight = weight
        self._ms_per_char: dict[str, float] = {}
        self._lock = threading.Lock()

    def predict_ms(self, language: str, text: str) -> float:
        with self._lock:
            return self._ms_per_char.get(language, self.DEFAULT_MS_PER_CHAR) * max(len(text), 1)

    def learn(self, language: str, text: str, natural_ms: float) -> None:
        observed = natural_ms / max(len(text), 1)
        with self._lock:
            known = self._ms_per_char.get(language)
            self._ms_per_char[language] = (
                observed if known is None else known + self._weight * (observed - known)
            )


@dataclass(frozen=True)
class _Span:
    first: int  # sample
    end: int  # sample, exclusive

    @property
    def samples(self) -> int:
        return self.end - self.first


def speech_span(pcm: bytes, sample_rate: int, silence_dbfs: float, keep_ms: int) -> _Span:
    """The part of the clip between its first and last sound above `silence_dbfs`
    (10 ms windows), with `keep_ms` kept on each side; the whole clip if all is quiet."""
    samples = array("h", pcm)
    window = max(sample_rate // 100, 1)
    limit = 32768 * 10 ** (silence_dbfs / 20)
    # max/min of an array slice run in C: the clip is scanned per window, not per sample.
    loud = [
        start
        for start in range(0, len(samples), window)
        if max(max(part := samples[start : start + window]), -min(part)) > limit
    ]
    if not loud:
        return _Span(0, len(samples))
    keep = sample_rate * keep_ms // 1000
    return _Span(max(0, loud[0] - keep), min(len(samples), loud[-1] + window + keep))


class ClipFitter:
    def __init__(
        self,
        synthesizer: RateSynthesizer,
        audio: AudioTool,
        settings: FitSettings | None = None,
        pace: PaceMemory | None = None,
    ) -> None:
        self._synthesizer = synthesizer
        self._audio = audio
        self._settings = settings or FitSettings()
        self._pace = pace or PaceMemory()

    def voice_rate(self, text: str, language: Language, target_ms: float) -> float:
        """The rate to ask of the voice: what the prediction says the clip needs, never
        slower than the voice's own pace, never past the cap."""
        predicted = self._pace.predict_ms(language.code, text)
        wanted = predicted / max(target_ms, 1.0)
        if wanted <= self._settings.tolerance:
            return 1.0
        return round(min(wanted, self._settings.max_speedup), 2)

    def speak(self, text: str, language: Language, source_ms: int) -> FittedClip:
        s = self._settings
        target_ms = source_ms + s.pause_credit_ms
        rate = self.voice_rate(text, language, target_ms)
        mp3 = self._synthesizer.synthesize(text, language, rate)
        try:
            pcm = self._audio.decode(mp3)
        except Exception:  # a clip ffmpeg cannot read: the browser may still; deliver as it is
            logger.warning("clip not decodable; delivered without a fit", extra={"language": language.code})
            return FittedClip(mp3, source_ms, 0, 0, rate, 1.0)
        rate_per_ms = self._audio.sample_rate / 1000
        span = speech_span(pcm, self._audio.sample_rate, s.silence_dbfs, s.keep_ms)
        spoken_ms = span.samples / rate_per_ms
        natural_ms = spoken_ms * rate
        self._pace.learn(language.code, text, natural_ms)
        tempo = 1.0
        if spoken_ms > target_ms * s.tolerance:
            tempo = round(min(spoken_ms / target_ms, s.max_speedup / rate), 3)
            tempo = tempo if tempo > 1.0 else 1.0
        trimmed_ms = (len(pcm) // 2 - span.samples) / rate_per_ms
        if tempo == 1.0 and trimmed_ms < s.min_trim_ms:
            return FittedClip(mp3, source_ms, round(natural_ms), round(spoken_ms), rate, 1.0)
        try:
            fitted = self._audio.encode(pcm[span.first * 2 : span.end * 2], tempo)
        except Exception:  # the voice's clip is still good speech: deliver it unfitted
            logger.warning(
                "clip could not be re-encoded; delivered as spoken", extra={"language": language.code}
            )
            return FittedClip(mp3, source_ms, round(natural_ms), round(len(pcm) / 2 / rate_per_ms), rate, 1.0)
        return FittedClip(fitted, source_ms, round(natural_ms), round(spoken_ms / tempo), rate, tempo)
