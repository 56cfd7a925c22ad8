"""Whether the audio sent to a stream ends in quiet: the audio's half of the worker's
pause guess.

Transcribe tells of new speech only when a result about it comes, about a second after
the words (AWS's figure), so a guess from results alone takes the first second of a new
sentence for a pause; a handover there closes the stream in the middle of a word. The
worker has the PCM it sends, so it also asks whether the last `QUIET_MS` of it are well
below the talk's speech level (frames of 100 ms; the level is a high percentile of the
recent frames, so it follows the microphone's gain and the room, not a fixed dBFS).

Pure Python over 16-bit mono PCM: about ten frames a second, nothing to install."""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field

FRAME_MS = 100
QUIET_MS = 300  # the pause the offline VAD and Transcribe's results take for one
BELOW_SPEECH_DB = 15.0  # a frame this far under the speech level is quiet
LEVEL_WINDOW_FRAMES = 300  # the speech level over the last 30 s
LEVEL_PERCENTILE = 0.9  # speech fills well over 10 % of any 30 s of a talk
SILENCE_DBFS = -90.0  # the level of digital silence (a frame of zeros)
QUIET_DBFS = -60.0  # quiet whatever the speech level (a muted microphone, a silent start)


def frame_dbfs(frame: bytes) -> float:
    samples = array("h", frame)
    if not samples:
        return SILENCE_DBFS
    mean_square = sum(s * s for s in samples) / len(samples)
    return max(SILENCE_DBFS, 10 * math.log10(mean_square / 32768**2) if mean_square else SILENCE_DBFS)


@dataclass
class TailLoudness:
    """Fed the PCM as it is sent; says whether its tail is quiet."""

    sample_rate: int = 16000
    _pending: bytearray = field(default_factory=bytearray)
    _levels: deque[float] = field(default_factory=lambda: deque(maxlen=LEVEL_WINDOW_FRAMES))
    _quiet_frames: int = 0

    @property
    def _frame_bytes(self) -> int:
        return self.sample_rate * 2 * FRAME_MS // 1000

    def feed(self, pcm: bytes) -> None:
        self._pending += pcm
        size = self._frame_bytes
        while len(self._pending) >= size:
            level = frame_dbfs(bytes(self._pending[:size]))
            del self._pending[:size]
            self._levels.append(level)
            quiet = level <= max(QUIET_DBFS, self.speech_level_db() - BELOW_SPEECH_DB)
            self._quiet_frames = self._quiet_frames + 1 if quiet else 0

    def speech_level_db(self) -> float:
        if not self._levels:
            return SILENCE_DBFS
        ordered = sorted(self._levels)
        return ordered[min(len(ordered) - 1, int(LEVEL_PERCENTILE * len(ordered)))]

    def quiet_ms(self) -> int:
        """How long the audio sent so far has been quiet, in whole frames."""
        return self._quiet_frames * FRAME_MS

    def ends_quiet(self) -> bool:
        return self.quiet_ms() >= QUIET_MS
