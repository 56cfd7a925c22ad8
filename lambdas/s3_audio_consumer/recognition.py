"""The recognition port: one streaming speech recognizer per stretch of a talk.

The worker opens a stream, sends the session's 16 kHz mono s16le PCM as it is
decoded, collects the stream's results (partials with stable words, and finals) as
they come, and closes the stream at the end of the talk, at a handover or when the
speaker has been silent too long. Adapters: Amazon Transcribe streaming
(`aws_recognizer.py`) and, for `make local`, Silero VAD + Whisper
(`local/engines/streaming.py`); tests use fakes that emit real SDK event objects."""

from __future__ import annotations

from typing import Protocol

from s3_audio_consumer.utterances import StreamResult
from shared.audio_unit import BYTES_PER_SAMPLE, PCM_SAMPLE_RATE
from shared.languages import Language

PCM_BYTES_PER_SECOND = PCM_SAMPLE_RATE * BYTES_PER_SAMPLE
# AWS's streaming best practice: uniform audio events of 50-200 ms.
AUDIO_EVENT_MS = 100
AUDIO_EVENT_BYTES = PCM_BYTES_PER_SECOND * AUDIO_EVENT_MS // 1000


class StreamFailed(RuntimeError):
    """The stream broke (throttled at start, service error, dropped connection).
    `retryable` tells whether a new stream may succeed."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RecognitionStream(Protocol):
    def send(self, pcm: bytes) -> None:
        """Queues PCM for the stream (any length; the adapter cuts uniform events).
        Never blocks on the network. Raises StreamFailed once the stream broke."""
        ...

    def results(self) -> list[StreamResult]:
        """Results that arrived since the last call, in order (non-blocking)."""
        ...

    def at_pause(self) -> bool:
        """Whether the audio sent so far ends in a pause, as far as the recognizer can
        tell: a handover made now cuts no sentence."""
        ...

    def close(self, timeout_s: float) -> list[StreamResult]:
        """Ends the input, waits (at most timeout_s) for the last results and returns
        every result not yet returned. The stream cannot be used afterwards."""
        ...


class Recognizer(Protocol):
    def start(self, language: Language, sample_rate: int) -> RecognitionStream:
        """Opens one stream (one billed request on AWS). Raises StreamFailed."""
        ...
