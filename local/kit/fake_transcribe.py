"""A Transcribe-like streaming recognizer at the SDK boundary, on a fake clock.

It emits the SDK's real result objects (`aws_sdk_transcribe_streaming.models.Result`, converted as
the production adapter converts them), with the timing that matters to the worker:
- a stream start that takes `start_s`;
- one word per `WORD_MS` of audio (so every piece of audio is covered by a word and a
  test can account for each second), in partial results with stable words that arrive
  `partial_lag_s` after their audio was sent;
- a final result at each pause (`PAUSE_FRAMES` frames of 100 ms under `SILENCE_RMS`),
  measured on the audio, as Transcribe ends a result at a pause;
- a close that flushes for `close_flush_s`; results not in by the close timeout are lost.

Each stream records the PCM it received (billing) and when it was opened and closed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from aws_sdk_transcribe_streaming.models import Alternative, Item, Result

from s3_audio_consumer.recognition import StreamFailed
from s3_audio_consumer.utterances import StreamResult, from_sdk_result
from shared.audio_unit import BYTES_PER_SAMPLE, PCM_SAMPLE_RATE
from shared.languages import Language

FRAME_BYTES = PCM_SAMPLE_RATE * BYTES_PER_SAMPLE // 10  # 100 ms
WORD_MS = 500
SILENCE_RMS = 300.0
PAUSE_FRAMES = 3


@dataclass(frozen=True)
class TranscribeTiming:
    start_s: float = 0.5
    partial_lag_s: float = 1.0
    close_flush_s: float = 1.0


def _result(
    result_id: str, words: list[tuple[float, float]], partial: bool, stable_until: float
) -> StreamResult:
    items = [
        Item(
            start_time=start,
            end_time=end,
            type="pronunciation",
            content=f"w{int(start * 1000)}",
            stable=not partial or end <= stable_until,
        )
        for start, end in words
    ]
    text = " ".join(str(item.content) for item in items)
    alternative = Alternative(transcript=text, items=items, entities=[])
    return from_sdk_result(
        Result(
            result_id=result_id,
            start_time=words[0][0],
            end_time=words[-1][1],
            is_partial=partial,
            alternatives=[alternative],
        )
    )


@dataclass
class FakeTranscribeStream:
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    timing: TranscribeTiming
    opened_at: float
    received: bytearray = field(default_factory=bytearray)
    closed_at: float | None = None
    fail_after_bytes: int | None = None
    _queue: list[tuple[float, StreamResult]] = field(default_factory=list)
    _words: list[tuple[float, float]] = field(default_factory=list)  # the open result's words
    _results: int = 0
    _frames: int = 0
    _quiet: int = 0  # trailing silent frames
    _word_from: float = 0.0

    def send(self, pcm: bytes) -> None:
        if self.closed_at is not None:
            raise RuntimeError("the stream is closed")
        if self.fail_after_bytes is not None and len(self.received) + len(pcm) > self.fail_after_bytes:
            raise StreamFailed("the connection dropped")
        self.received += pcm
        while (self._frames + 1) * FRAME_BYTES <= len(self.received):
            self._frame(self._frames)
            self._frames += 1

    def _frame(self, n: int) -> None:
        frame = np.frombuffer(self.received[n * FRAME_BYTES : (n + 1) * FRAME_BYTES], dtype=np.int16)
        silent = float(np.sqrt(np.mean(frame.astype(float) ** 2))) < SILENCE_RMS
        self._quiet = self._quiet + 1 if silent else 0
        end = (n + 1) / 10
        if end - self._word_from >= WORD_MS / 1000 - 1e-9:
            self._words.append((self._word_from, end))
            self._word_from = end
            self._publish(partial=True)
        if self._quiet == PAUSE_FRAMES and self._words:
            self._publish(partial=False)

    def _publish(self, partial: bool) -> None:
        result_id = f"r{self._results}"
        lag_end = len(self.received) / (PCM_SAMPLE_RATE * BYTES_PER_SAMPLE)
        stable_until = lag_end - 1.0  # words a second old are stable
        self._queue.append(
            (
                self.clock() + self.timing.partial_lag_s,
                _result(result_id, list(self._words), partial, stable_until),
            )
        )
        if not partial:
            self._words = []
            self._results += 1

    def results(self) -> list[StreamResult]:
        now = self.clock()
        due = [result for at, result in self._queue if at <= now]
        self._queue = [(at, result) for at, result in self._queue if at > now]
        return due

    def at_pause(self) -> bool:
        return not self._words and self._quiet >= PAUSE_FRAMES

    def close(self, timeout_s: float) -> list[StreamResult]:
        if self.closed_at is not None:
            return []
        tail_end = len(self.received) / (PCM_SAMPLE_RATE * BYTES_PER_SAMPLE)
        if tail_end > self._word_from:
            self._words.append((self._word_from, tail_end))
        if self._words:
            self._publish(partial=False)
        flush = self.timing.close_flush_s
        self.sleep(min(flush, timeout_s))
        self.closed_at = self.clock()
        if flush > timeout_s:
            return []  # the last results came after the close timeout: lost
        taken = [result for _, result in self._queue]
        self._queue = []
        return taken


@dataclass
class FakeTranscribe:
    """The Recognizer port: opens FakeTranscribeStreams; can refuse starts (throttled) or
    break a stream after some bytes."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    timing: TranscribeTiming = field(default_factory=TranscribeTiming)
    streams: list[FakeTranscribeStream] = field(default_factory=list)
    throttle_starts: int = 0
    fail_stream_after_bytes: int | None = None

    def start(self, language: Language, sample_rate: int) -> FakeTranscribeStream:
        self.sleep(self.timing.start_s)
        if self.throttle_starts:
            self.throttle_starts -= 1
            raise StreamFailed("LimitExceededException", retryable=True)
        stream = FakeTranscribeStream(
            self.clock, self.sleep, self.timing, self.clock(), fail_after_bytes=self.fail_stream_after_bytes
        )
        self.fail_stream_after_bytes = None
        self.streams.append(stream)
        return stream

    def billed_seconds(self) -> float:
        """Transcribe bills each stream's audio, with a 15 s minimum per stream."""
        rate = PCM_SAMPLE_RATE * BYTES_PER_SAMPLE
        return sum(max(15.0, len(s.received) / rate) for s in self.streams)
