"""The offline counterpart of Amazon Transcribe streaming, for `make local`.

Silero VAD (inside faster-whisper) cuts the continuous PCM at pauses (300 ms of
silence, 150 ms of padding, a forced cut at the longest pause once an utterance
reaches 7 s), and Whisper transcribes each piece. Each piece comes back as one final
result, with its words spread over the piece's time: the worker's utterance cutter
then treats it as Transcribe's final of that pause. Recognition runs on a thread of
the stream, so the worker keeps heartbeating and feeding while Whisper works.

`RECOGNIZER=local.engines.streaming:build` makes the unchanged worker use it."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from local.engines import whisper_model
from local.engines.vad_stream import Segment, StreamingVad, VadSettings
from s3_audio_consumer.recognition import StreamFailed
from s3_audio_consumer.utterances import StreamResult, Word
from shared.audio_unit import BYTES_PER_SAMPLE, PCM_SAMPLE_RATE
from shared.languages import Language

RATE = PCM_SAMPLE_RATE
PAUSE_MS = 200  # this much silence at the end of the fed audio: a handover here splits no word


def _result(index: int, segment: Segment, text: str) -> StreamResult:
    """A final result for one VAD piece; word times are spread evenly over it."""
    tokens = text.split()
    start, end = segment.start_sample / RATE, segment.end_sample / RATE
    step = (end - start) / max(len(tokens), 1)
    words = tuple(
        Word(token, start + n * step, start + (n + 1) * step, stable=True, punctuation=False)
        for n, token in enumerate(tokens)
    )
    return StreamResult(f"local-{index}", False, start, end, words, text)


@dataclass
class LocalStream:
    language: Language
    vad: StreamingVad = field(default_factory=lambda: StreamingVad(VadSettings()))

    def __post_init__(self) -> None:
        self._pcm = bytearray()  # from sample `_first` on: what a future piece may still need
        self._first = 0
        self._pieces: queue.Queue[tuple[int, Segment, bytes] | None] = queue.Queue()
        self._queued = 0  # pieces cut so far: the id of the utterance now open is this
        self._results: list[StreamResult] = []
        self._lock = threading.Lock()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._recognize, daemon=True, name="local-recognizer")
        self._thread.start()

    def send(self, pcm: bytes) -> None:
        if self._failure is not None:
            raise StreamFailed(f"local recognizer failed: {self._failure}", retryable=True)
        self._pcm += pcm
        self._queue(self.vad.feed(pcm))
        drop = self.vad.keep_from - self._first  # samples no piece can start before any more
        if drop > 0:
            del self._pcm[: drop * BYTES_PER_SAMPLE]
            self._first += drop

    def _queue(self, segments: list[Segment]) -> None:
        for segment in segments:
            self._pieces.put((self._queued, segment, segment.slice(bytes(self._pcm), self._first)))
            self._queued += 1

    def _recognize(self) -> None:
        transcriber = whisper_model()
        while (piece := self._pieces.get()) is not None:
            index, segment, pcm = piece
            try:
                text = transcriber.transcribe(pcm, RATE, self.language)
            except Exception as error:  # the worker sees it on its next send
                self._failure = error
                return
            if text.strip():
                with self._lock:
                    self._results.append(_result(index, segment, text.strip()))

    def at_pause(self) -> bool:
        return self.vad.trailing_silence_ms >= PAUSE_MS

    def results(self) -> list[StreamResult]:
        with self._lock:
            out, self._results = self._results, []
        return out

    def close(self, timeout_s: float) -> list[StreamResult]:
        self._queue(self.vad.flush())
        self._pieces.put(None)
        self._thread.join(timeout_s)
        return self.results()


class LocalRecognizer:
    def __init__(self) -> None:
        # Loaded before the worker takes its lease: a first stream must not stall on it.
        from faster_whisper.vad import get_vad_model

        get_vad_model()
        whisper_model()

    def start(self, language: Language, sample_rate: int) -> LocalStream:
        if sample_rate != RATE:
            raise StreamFailed(f"the local recognizer takes {RATE} Hz PCM", retryable=False)
        return LocalStream(language)


def build() -> LocalRecognizer:
    return LocalRecognizer()
