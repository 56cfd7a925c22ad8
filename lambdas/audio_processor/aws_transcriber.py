"""Transcriber on Amazon Transcribe streaming (the `amazon-transcribe` SDK)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amazon_transcribe.exceptions import (
    InternalFailureException,
    LimitExceededException,
    ServiceUnavailableException,
)
from amazon_transcribe.model import TranscriptEvent

from audio_processor.model import Transcript
from audio_processor.retry import Retryable
from shared.languages import Language

AUDIO_EVENT_BYTES = 32 * 1024  # Transcribe's largest audio event
_RETRYABLE = (LimitExceededException, InternalFailureException, ServiceUnavailableException, ConnectionError)


@dataclass(frozen=True)
class TranscribeSettings:
    vocabulary_name: str | None = None
    partial_results_stability: str | None = None  # low | medium | high


class AwsStreamingTranscriber:
    """One stream per batch: send every PCM byte at once (the SDK's HTTP/2 flow
    control is the pacing), close the stream, and keep every final result in order.

    `client_factory` builds a `TranscribeStreamingClient`; it is called on first use
    and the client is reused by warm invocations. The SDK is asyncio-based while the
    handler is not, so one event loop lives for the life of the process."""

    def __init__(self, client_factory: Callable[[], Any], settings: TranscribeSettings) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def transcribe(self, pcm: bytes, sample_rate: int, language: Language) -> Transcript:
        if language.transcribe is None:
            raise ValueError(f"{language.code} cannot be transcribed")
        with self._lock:  # one loop, one stream at a time per process
            try:
                return self._loop.run_until_complete(self._stream(pcm, sample_rate, language.transcribe))
            except _RETRYABLE as error:
                raise Retryable(f"transcribe: {type(error).__name__}") from error

    async def _stream(self, pcm: bytes, sample_rate: int, locale: str) -> Transcript:
        options: dict[str, Any] = {}
        if self._settings.vocabulary_name:
            options["vocabulary_name"] = self._settings.vocabulary_name
        if self._settings.partial_results_stability:
            options["enable_partial_results_stabilization"] = True
            options["partial_results_stability"] = self._settings.partial_results_stability
        stream = await self._get_client().start_stream_transcription(
            language_code=locale, media_sample_rate_hz=sample_rate, media_encoding="pcm", **options
        )

        async def send() -> None:
            for offset in range(0, len(pcm), AUDIO_EVENT_BYTES):
                await stream.input_stream.send_audio_event(
                    audio_chunk=pcm[offset : offset + AUDIO_EVENT_BYTES]
                )
            await stream.input_stream.end_stream()

        async def receive() -> list[str]:
            finals: dict[str, str] = {}  # result id -> text; a result id is final once
            async for event in stream.output_stream:
                if isinstance(event, TranscriptEvent):
                    for result in event.transcript.results:
                        if result.is_partial or not result.alternatives:
                            continue
                        text = result.alternatives[0].transcript or ""
                        finals[result.result_id or str(len(finals))] = text
            return list(finals.values())

        _, segments = await asyncio.gather(send(), receive())
        return Transcript(segments=tuple(s for s in segments if s.strip()))
