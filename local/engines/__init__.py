"""Offline speech engines behind the audio_processor's ports, for the local runner.

`SPEECH_ENGINES=local.engines:build` makes the unchanged handler use them."""

from __future__ import annotations

from functools import cache

from audio_processor.config import ProcessorConfig
from audio_processor.ffmpeg_audio import FfmpegAudio
from audio_processor.pipeline import Engines
from local.engines.apertium import ApertiumTranslator, route
from local.engines.speech import ESPEAK_VOICES, LocalSynthesizer, PiperVoiceEngine
from local.engines.whisper import WhisperTranscriber
from local.paths import ffmpeg_path
from shared.languages import LANGUAGES, ServedPairs

# Whisper base hears these well enough; each needs a voice for itself too.
LOCAL_SOURCES = ("en", "es", "fr", "it", "pt")


def served_pairs() -> ServedPairs:
    """Every (source, target) the offline engines serve: a route through Apertium and a voice."""
    pairs = {
        (source, target)
        for source in LOCAL_SOURCES
        for target in LANGUAGES
        if target in ESPEAK_VOICES and (source == target or route(source, target) is not None)
    }
    return ServedPairs(frozenset(pairs))


@cache
def whisper_model() -> WhisperTranscriber:
    """The offline recognizer's model (local.engines.streaming), loaded once per process."""
    return WhisperTranscriber()


@cache
def _piper() -> PiperVoiceEngine:
    return PiperVoiceEngine()


@cache
def local_voices() -> LocalSynthesizer:
    """The offline voices, one Piper model per process (the local Polly endpoint's too)."""
    return LocalSynthesizer(ffmpeg_path(), _piper())


@cache
def shared_engines() -> Engines:
    """One set per process: the models are loaded once and shared by every invocation."""
    return Engines(
        translator=ApertiumTranslator(),
        synthesizer=local_voices(),
        audio=FfmpegAudio(ffmpeg_path()),
    )


def build(config: ProcessorConfig) -> Engines:
    return shared_engines()


def warm_up() -> None:
    """Loads both models before /healthz says ready, so no listener waits for them."""
    whisper_model().warm_up()
    warm_up_voice()


def warm_up_voice() -> None:
    """Loads Piper: the local Polly endpoint speaks English with it."""
    _piper().warm_up()
