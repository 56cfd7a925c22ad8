"""WebM/Opus -> 16 kHz mono s16le PCM with the ffmpeg binary of the layer."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from shared.audio_unit import BYTES_PER_SAMPLE, PCM_SAMPLE_RATE

DECIMATION = 48000 // PCM_SAMPLE_RATE


class DecodeError(RuntimeError):
    """These bytes do not decode (ffmpeg failed on them or hung): retrying cannot help."""


class DecoderUnavailable(RuntimeError):
    """ffmpeg could not be started: nothing is wrong with the bytes, so a retry may help."""


@dataclass(frozen=True)
class FfmpegDecoder:
    ffmpeg_path: str
    timeout_seconds: float = 20.0

    def decode(self, webm: bytes, drop_samples_48k: int = 0) -> bytes:
        """Decodes webm and drops the leading samples of its pre-roll Cluster, which
        was only there so the Opus decoder is warm at the batch's first sample."""
        try:
            completed = subprocess.run(
                [
                    self.ffmpeg_path,
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-f",
                    "webm",
                    "-i",
                    "pipe:0",
                    "-ac",
                    "1",
                    "-ar",
                    str(PCM_SAMPLE_RATE),
                    "-f",
                    "s16le",
                    "pipe:1",
                ],
                input=webm,
                capture_output=True,
                timeout=self.timeout_seconds,
                check=False,
            )
        except OSError as error:
            raise DecoderUnavailable(f"ffmpeg could not run: {error}") from error
        except subprocess.TimeoutExpired as error:
            raise DecodeError(f"ffmpeg timed out after {self.timeout_seconds} s") from error
        if completed.returncode != 0:
            raise DecodeError(completed.stderr.decode(errors="replace").strip()[-500:] or "ffmpeg failed")
        drop_bytes = (drop_samples_48k // DECIMATION) * BYTES_PER_SAMPLE
        return completed.stdout[drop_bytes:]
