"""The clip fitter's audio tool on ffmpeg (the layer's static build on AWS, the same
binary locally): MP3 in, PCM out; PCM in, MP3 out, optionally faster with `atempo`."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

SAMPLE_RATE = 24_000  # Polly's neural MP3 rate; espeak-ng and Piper are resampled to it
MIN_TEMPO, MAX_TEMPO = 0.5, 2.0  # one atempo stage's range; the fitter asks at most 1.3


@dataclass(frozen=True)
class FfmpegAudio:
    ffmpeg: str
    sample_rate: int = SAMPLE_RATE
    timeout_s: float = 20.0

    def decode(self, mp3: bytes) -> bytes:
        return self._run(
            ["-f", "mp3", "-i", "-", "-ac", "1", "-ar", str(self.sample_rate), "-f", "s16le", "-"], mp3
        )

    def encode(self, pcm: bytes, tempo: float) -> bytes:
        if not MIN_TEMPO <= tempo <= MAX_TEMPO:
            raise ValueError(f"tempo {tempo} is outside {MIN_TEMPO}-{MAX_TEMPO}")
        stretch = ["-af", f"atempo={tempo:.3f}"] if tempo != 1.0 else []
        # -write_xing: the LAME tag that lets browsers cut the encoder delay (gapless playback).
        return self._run(
            ["-f", "s16le", "-ar", str(self.sample_rate), "-ac", "1", "-i", "-", *stretch,
             "-c:a", "libmp3lame", "-b:a", "48k", "-write_xing", "1", "-f", "mp3", "-"],
            pcm,
        )  # fmt: skip

    def _run(self, args: list[str], data: bytes) -> bytes:
        done = subprocess.run(
            [self.ffmpeg, "-v", "error", "-nostdin", *args],
            input=data,
            capture_output=True,
            timeout=self.timeout_s,
            check=False,
        )
        if done.returncode != 0 or not done.stdout:
            raise RuntimeError(f"ffmpeg failed: {done.stderr.decode(errors='replace')[-300:]}")
        return done.stdout
