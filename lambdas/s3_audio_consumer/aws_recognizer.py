"""Recognizer on Amazon Transcribe streaming, through the `aws-sdk-transcribe-streaming`
SDK (the successor of the deprecated `amazon-transcribe`; docs/ARCHITECTURE.md says
why and what changed) and its awscrt HTTP/2 client.

The SDK is asyncio-based while the worker is synchronous: one event loop runs in a
daemon thread for the life of the process and every stream's tasks live on it. Here:
the request and the start of a stream; the SDK's client, the loop and the error mapping
are transcribe_sdk.py's, the open stream aws_stream.py's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_sdk_transcribe_streaming.models import StartStreamTranscriptionInput

from s3_audio_consumer.aws_stream import AwsRecognitionStream
from s3_audio_consumer.transcribe_sdk import LOOP, close_quietly, run_on, stream_failed
from shared.languages import Language

START_TIMEOUT_S = 10.0
# The start is timed out on the loop; this extra wait only guards against a stuck loop.
_LOOP_GUARD_S = 5.0
_STABILITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class StreamSettings:
    """`partial_results_stability` None turns stabilization off; it is on ("high") by
    default because the utterance cutter only cuts partials at stable words."""

    vocabulary_name: str | None = None
    partial_results_stability: str | None = "high"

    def __post_init__(self) -> None:
        if self.partial_results_stability not in (None, *_STABILITIES):
            raise ValueError(f"partial_results_stability must be one of {_STABILITIES} or None")


class AwsRecognizer:
    """`client_factory` builds an `AsyncTranscribeStreamingClient` (`transcribe_client`); it is called on the
    first start and the client is reused by every later stream (warm invocations too)."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        settings: StreamSettings,
        *,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._settings = settings
        self._start_timeout_s = start_timeout_s

    def start(self, language: Language, sample_rate: int) -> AwsRecognitionStream:
        if language.transcribe is None:
            raise ValueError(f"{language.code} cannot be transcribed")
        # Outside the try: a client that cannot be built is a configuration error.
        client = self._get_client()
        request = self._request(language.transcribe, sample_rate)
        try:
            return run_on(LOOP.get(), self._open(client, request), self._start_timeout_s + _LOOP_GUARD_S)
        except Exception as error:
            raise stream_failed(error, "start") from error

    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def _request(self, locale: str, sample_rate: int) -> StartStreamTranscriptionInput:
        stability = self._settings.partial_results_stability
        return StartStreamTranscriptionInput(
            language_code=locale,
            media_sample_rate_hertz=sample_rate,
            media_encoding="pcm",
            enable_partial_results_stabilization=stability is not None,
            partial_results_stability=stability,
            vocabulary_name=self._settings.vocabulary_name,
        )

    async def _open(self, client: Any, request: StartStreamTranscriptionInput) -> AwsRecognitionStream:
        # Timed out here, on the loop, so that a stream that opens late cannot leak.
        sdk_stream, output_stream = await asyncio.wait_for(_start(client, request), self._start_timeout_s)
        stream = AwsRecognitionStream(asyncio.get_running_loop(), sdk_stream, output_stream)
        stream.begin()
        return stream


async def _start(client: Any, request: StartStreamTranscriptionInput) -> tuple[Any, Any]:
    """The SDK's duplex stream and its output stream. The SDK hands the stream back
    before the service answered; the answer is awaited here so that a refused request
    (bad request, credentials, limits) fails the start, not the first send."""
    sdk_stream = await client.start_stream_transcription(input=request)
    try:
        _, output_stream = await sdk_stream.await_output()
    except BaseException:
        await close_quietly(sdk_stream)
        raise
    return sdk_stream, output_stream
