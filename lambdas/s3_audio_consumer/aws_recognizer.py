"""Recognizer on Amazon Transcribe streaming, through the `amazon-transcribe` 0.6.4 SDK.

Why this SDK and not its successor (`aws-sdk-transcribe-streaming`): the successor
requires Python >= 3.12, and the project's tests and `make local` run on 3.11. The
Lambda runtime is already 3.14, so moving to the successor is the next step once the
dev environment moves to 3.12 (`from_sdk_result` already reads either SDK's results).

The SDK is asyncio-based while the worker is synchronous: one event loop runs in a
daemon thread for the life of the process and every stream's tasks live on it. A
stream has a sender task, which sends the PCM queued by `send` as uniform 100 ms audio
events, and a reader task, which converts each `TranscriptEvent`'s results as they
come. A failure of either is kept and raised as `StreamFailed` by the next call.

A stream's methods are meant to be called from one thread (the worker's)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from amazon_transcribe.client import TranscribeStreamingClient
from amazon_transcribe.endpoints import StaticEndpointResolver
from amazon_transcribe.exceptions import (
    BadRequestException,
    CredentialsException,
    SerializationException,
    SerializerException,
    ValidationException,
)
from amazon_transcribe.model import TranscriptEvent
from awscrt import io

from s3_audio_consumer.recognition import AUDIO_EVENT_BYTES, StreamFailed
from s3_audio_consumer.utterances import StreamResult, from_sdk_result
from shared.languages import Language

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
# The start is timed out on the loop; this extra wait only guards against a stuck loop.
_LOOP_GUARD_S = 5.0
# A new stream would be refused again: the request or the credentials are wrong.
# Everything else (LimitExceeded, ServiceUnavailable, InternalFailure, Conflict, a
# dropped connection, a timeout) may well work on a new stream.
_NOT_RETRYABLE = (
    BadRequestException,
    SerializationException,
    SerializerException,
    ValidationException,
    CredentialsException,
)
_STABILITIES = ("low", "medium", "high")

T = TypeVar("T")


@dataclass(frozen=True)
class StreamSettings:
    """`partial_results_stability` None turns stabilization off; it is on ("high") by
    default because the utterance cutter only cuts partials at stable words."""

    vocabulary_name: str | None = None
    partial_results_stability: str | None = "high"

    def __post_init__(self) -> None:
        if self.partial_results_stability not in (None, *_STABILITIES):
            raise ValueError(f"partial_results_stability must be one of {_STABILITIES} or None")


def stream_failed(error: BaseException, during: str) -> StreamFailed:
    """The port's error for an SDK (or network) error, retryable unless a new stream
    would be refused as well."""
    detail = getattr(error, "message", None) or str(error)
    retryable = not isinstance(error, _NOT_RETRYABLE)
    return StreamFailed(f"transcribe {during}: {type(error).__name__}: {detail}", retryable)


def transcribe_client(
    region: str, endpoint_url: str | None = None, ca_file: str | None = None
) -> TranscribeStreamingClient:
    """The SDK's client, for AWS's regional endpoint unless `endpoint_url` names another
    (the local endpoint, local/endpoints/transcribe_streaming.py). `ca_file` replaces the
    trust store, as boto3 does with AWS_CA_BUNDLE: the local endpoint's certificate
    comes from a CA of its own, and the SDK only speaks HTTP/2 over TLS."""
    resolver = StaticEndpointResolver(endpoint_url) if endpoint_url else None
    client = TranscribeStreamingClient(region=region, endpoint_resolver=resolver)
    if ca_file:
        options = io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        # 0.6.4 has no option for this: its session manager builds the TLS context with
        # the default trust store, and every connection is made from this attribute.
        client._session_manager._tls_ctx = io.ClientTlsContext(options)
    return client


class _LoopThread:
    """The process's one event loop, started on first use in a daemon thread so that
    it never keeps the process alive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="transcribe-loop", daemon=True).start()
                self._loop = loop
            return self._loop


_LOOP = _LoopThread()


def _run(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Runs `coroutine` on `loop` and waits for it (at most timeout_s) from the calling thread."""
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        return future.result(timeout_s)
    except TimeoutError:
        future.cancel()
        raise


class AwsRecognizer:
    """`client_factory` builds a `TranscribeStreamingClient`; it is called on the
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
            return _run(_LOOP.get(), self._open(client, request), self._start_timeout_s + _LOOP_GUARD_S)
        except Exception as error:
            raise stream_failed(error, "start") from error

    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def _request(self, locale: str, sample_rate: int) -> dict[str, Any]:
        request: dict[str, Any] = {
            "language_code": locale,
            "media_sample_rate_hz": sample_rate,
            "media_encoding": "pcm",
        }
        if self._settings.partial_results_stability:
            request["enable_partial_results_stabilization"] = True
            request["partial_results_stability"] = self._settings.partial_results_stability
        if self._settings.vocabulary_name:
            request["vocabulary_name"] = self._settings.vocabulary_name
        return request

    async def _open(self, client: Any, request: dict[str, Any]) -> AwsRecognitionStream:
        # Timed out here, on the loop, so that a stream that opens late cannot leak.
        sdk_stream = await asyncio.wait_for(
            client.start_stream_transcription(**request), self._start_timeout_s
        )
        stream = AwsRecognitionStream(asyncio.get_running_loop(), sdk_stream)
        stream.begin()
        return stream


# Transcribe reports new speech a few hundred ms late: only this much audio after the
# last word, with no partial open, is taken for a pause.
PAUSE_AFTER_LAST_WORD_S = 1.0


@dataclass
class _SpeechTrack:
    """What the results tell of where speech is: open partials and the last word's end."""

    open_ids: set[str] = field(default_factory=set)
    last_word_end_s: float = 0.0

    def saw(self, result: StreamResult) -> None:
        if result.is_partial:
            self.open_ids.add(result.result_id)
        else:
            self.open_ids.discard(result.result_id)
        if result.words:
            self.last_word_end_s = max(self.last_word_end_s, result.words[-1].end_s)

    def at_pause(self, sent_s: float) -> bool:
        return not self.open_ids and sent_s - self.last_word_end_s >= PAUSE_AFTER_LAST_WORD_S


class AwsRecognitionStream:
    """One open Transcribe stream (see the module's docstring). Created by
    `AwsRecognizer.start` on the loop thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sdk_stream: Any) -> None:
        self._loop = loop
        self._sdk = sdk_stream
        self._pending = bytearray()  # less than one audio event, waiting for more
        self._closed = False
        self._lock = threading.Lock()  # guards _results and _failure across the two threads
        self._results: list[StreamResult] = []
        self._failure: StreamFailed | None = None
        self._ending = False  # loop thread only: the input has been ended on purpose
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()  # None: end of input
        self._tasks: list[asyncio.Task[None]] = []
        self._sent_bytes = 0  # the worker's thread only
        self._speech = _SpeechTrack()  # under _lock

    def begin(self) -> None:
        """Starts the sender and the reader; on the loop thread."""
        self._tasks = [
            asyncio.create_task(self._guarded(self._send_audio, "send")),
            asyncio.create_task(self._guarded(self._read_results, "receive")),
        ]

    # --- the port, called from the worker's thread --------------------------------------

    def send(self, pcm: bytes) -> None:
        if self._closed:
            raise RuntimeError("the stream is closed")
        self._raise_if_failed()
        self._pending += pcm
        whole = len(self._pending) - len(self._pending) % AUDIO_EVENT_BYTES
        if not whole:
            return
        step = AUDIO_EVENT_BYTES
        events = [bytes(self._pending[at : at + step]) for at in range(0, whole, step)]
        del self._pending[:whole]
        self._sent_bytes += whole
        # call_soon_threadsafe runs callbacks in the order they were scheduled: audio stays in order.
        self._loop.call_soon_threadsafe(self._enqueue, events)

    def results(self) -> list[StreamResult]:
        self._raise_if_failed()
        return self._take()

    def at_pause(self) -> bool:
        with self._lock:
            return self._speech.at_pause(self._sent_bytes / (AUDIO_EVENT_BYTES * 10))

    def close(self, timeout_s: float) -> list[StreamResult]:
        """A failure or a timeout while closing is logged, not raised: the stream is
        over either way, and the results that did arrive are returned."""
        if self._closed:
            return self._take()
        self._closed = True
        tail = bytes(self._pending)  # a last, shorter event: padding would be heard as silence
        self._pending.clear()
        self._loop.call_soon_threadsafe(self._end_input, tail)
        try:
            _run(self._loop, self._wait_for_tasks(), timeout_s)
        except TimeoutError:
            logger.warning("transcribe stream: no end of results after %.1f s, cancelled", timeout_s)
            self._loop.call_soon_threadsafe(self._cancel_tasks)
        with self._lock:
            failure = self._failure
        if failure is not None:
            logger.warning("transcribe stream closed after a failure: %s", failure)
        return self._take()

    def _raise_if_failed(self) -> None:
        with self._lock:
            failure = self._failure
        if failure is not None:
            raise StreamFailed(str(failure), failure.retryable) from failure.__cause__

    def _take(self) -> list[StreamResult]:
        with self._lock:
            taken, self._results = self._results, []
        return taken

    # --- on the loop thread ---------------------------------------------------------------

    def _enqueue(self, events: list[bytes]) -> None:
        for event in events:
            self._queue.put_nowait(event)

    def _end_input(self, tail: bytes) -> None:
        self._ending = True
        if tail:  # never an empty event: Transcribe reads an empty audio event as the end
            self._queue.put_nowait(tail)
        self._queue.put_nowait(None)

    async def _send_audio(self) -> None:
        while (chunk := await self._queue.get()) is not None:
            await self._sdk.input_stream.send_audio_event(audio_chunk=chunk)
        await self._sdk.input_stream.end_stream()

    async def _read_results(self) -> None:
        async for event in self._sdk.output_stream:
            if isinstance(event, TranscriptEvent):
                converted = [from_sdk_result(result) for result in event.transcript.results]
                with self._lock:
                    self._results.extend(converted)
                    for result in converted:
                        self._speech.saw(result)
        if not self._ending:
            # Audio sent from now on would be lost without a word: make the worker open a new stream.
            raise ConnectionError("the service ended the stream before its input was ended")

    async def _guarded(self, work: Callable[[], Coroutine[Any, Any, None]], during: str) -> None:
        try:
            await work()
        except Exception as error:
            failure = stream_failed(error, during)
            failure.__cause__ = error
            logger.warning("transcribe stream failed: %s", failure)
            with self._lock:
                self._failure = self._failure or failure
            # The stream is dead: stop the other task rather than let it wait forever.
            self._cancel_tasks()

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def _wait_for_tasks(self) -> None:
        await asyncio.wait(self._tasks)
