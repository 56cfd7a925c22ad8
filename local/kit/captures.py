"""Real browser recordings, made with scripts/capture (tests/fixtures/captures/*).

A capture folder holds the MediaRecorder chunks as the browser sent them
(chunk-NNNN.webm), capture.json (when each chunk was sent, the talk's length), what the
speaker read (script.txt, and script.<lang>.txt for a capture in another language too) and
human translations of it (reference.<lang>.txt). `Capture` reads them, and decodes the
chunks once, for the tests and benches that want a talk's audio rather than the write path
that carries it (that path is local/replay.py's)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from local.paths import ROOT, ffmpeg_path
from local.replay import load_chunks
from s3_audio_consumer.decoder import FfmpegDecoder
from shared.audio_unit import BYTES_PER_SAMPLE, PCM_SAMPLE_RATE

FIXTURES = ROOT / "tests" / "fixtures"
CAPTURES = FIXTURES / "captures"
BYTES_PER_MS = PCM_SAMPLE_RATE * BYTES_PER_SAMPLE // 1000


@dataclass(frozen=True)
class Capture:
    """One committed capture. Its reads and its decode are made once and kept."""

    name: str

    @property
    def folder(self) -> Path:
        return CAPTURES / self.name

    @cached_property
    def _chunks(self) -> tuple[bytes, ...]:
        return tuple(load_chunks(self.folder))

    @property
    def chunks(self) -> list[bytes]:
        """The chunks in seq order; a list of its own for each caller (tests reorder them)."""
        return list(self._chunks)

    @cached_property
    def _record(self) -> dict[str, Any]:
        record: dict[str, Any] = json.loads((self.folder / "capture.json").read_text())
        return record

    @property
    def timings_ms(self) -> list[int]:
        """When the browser sent each chunk, from the start of the recording."""
        return [timing["atMs"] for timing in self._record["timings"]]

    @property
    def recorded_ms(self) -> int:
        """The recording's length as the capture tool measured it (the source file's)."""
        return int(self._record["durationMs"])

    def script(self, language: str | None = None) -> str:
        """What the speaker read; `language`: the same talk's script in another language."""
        return (self.folder / ("script.txt" if language is None else f"script.{language}.txt")).read_text()

    def reference(self, language: str) -> str:
        """A human translation of the script, for scoring machine translations."""
        return (self.folder / f"reference.{language}.txt").read_text().strip()

    @cached_property
    def pcm(self) -> bytes:
        """The whole talk as 16 kHz mono s16le: the chunks joined are one WebM file, decoded
        by the worker's own decoder."""
        return FfmpegDecoder(ffmpeg_path()).decode(b"".join(self._chunks))

    @property
    def talk_ms(self) -> int:
        """The decoded talk's length."""
        return len(self.pcm) // BYTES_PER_MS

    def pieces(self, ms: int) -> list[bytes]:
        """The talk cut every `ms` milliseconds, the last piece what remains."""
        step = ms * BYTES_PER_MS
        return [self.pcm[offset : offset + step] for offset in range(0, len(self.pcm), step)]


@cache
def capture(name: str) -> Capture:
    """The capture called `name`, one object per name so that its decode is shared."""
    return Capture(name)
