"""Recognizer on Amazon Transcribe streaming, through the `aws-sdk-transcribe-streaming`
SDK (the successor of the deprecated `amazon-transcribe`; docs/ARCHITECTURE.md says
why and what changed) and its awscrt HTTP/2 client.

The SDK is asyncio-based while the worker is synchronous: one event loop runs in a
daemon thread for the life of the process and every stream's tasks live on it. A
stream has a sender task, which sends the PCM queued by `send` as uniform 100 ms audio
events, and a reader task, which converts each transcript event's results as they
come. A failure of either is kept and raised as `StreamFailed` by the next call.

A stream's methods are meant to be called from one thread (the worker's)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_sdk_transcribe_streaming.client import AsyncTranscribeStreamingClient
from aws_sdk_transcribe_streaming.config import AsyncTranscribeStreamingConfig
from aws_sdk_transcribe_streaming.models import (
    AudioEvent,
    AudioStreamAudioEvent,
    BadRequestException,
    StartStreamTranscriptionInput,
    TranscriptResultStreamTranscriptEvent,
)
from awscrt import io
from smithy_aws_core.config.exceptions import ConfigError
from smithy_core.exceptions import CallError, ModeledError, SerializationError, SmithyIdentityError
from smithy_http.aio.crt import AWSCRTHTTPClient, AWSCRTHTTPClientConfig

from s3_audio_consumer.loudness import TailLoudness
from s3_audio_consumer.recognition import AUDIO_EVENT_BYTES, StreamFailed
from s3_audio_consumer.utterances import StreamResult, from_sdk_result
from shared.languages import Language

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
# The start is timed out on the loop; this extra wait only guards against a stuck loop.
_LOOP_GUARD_S = 5.0
# A new stream would be refused again: the request, the configuration or the
# credentials are wrong. Everything else (LimitExceeded, ServiceUnavailable,
# InternalFailure, Conflict, a dropped connection, a timeout) may well work on a new
# stream. SmithyIdentityError is the SDK's "no credentials could be resolved".
_NOT_RETRYABLE: tuple[type[BaseException], ...] = (
    BadRequestException,
    SerializationError,
    SmithyIdentityError,
    ConfigError,
)
_STABILITIES = ("low", "medium", "high")
_CLOSE_INPUT_S = 2.0

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
    return StreamFailed(f"transcribe {during}: {type(error).__name__}: {detail}", _retryable(error))


def _retryable(error: BaseException) -> bool:
    if isinstance(error, _NOT_RETRYABLE):
        return False
    if isinstance(error, CallError) and not isinstance(error, ModeledError):
        # An error status the service model does not name: 403 (a bad signature or an
        # unknown key) or 404 is the client's fault and would come again; 5xx, 408 and
        # 429 may not. (The SDK does not retry a stream's start itself: its input is a stream.)
        return error.fault != "client" or error.is_throttling_error or error.is_timeout_error
    return True


class _TrustingCRTClient(AWSCRTHTTPClient):
    """The SDK's HTTP/2 client (awscrt), trusting only the CA in `ca_file`.

    smithy-http 0.6 offers no trust-store setting (its AWSCRTHTTPClient leaves TLS
    configuration unsupported), and every connection is made from the private `_tls_ctx`
    built in its __init__: replacing it there is the one way in."""

    def __init__(self, ca_file: str) -> None:
        super().__init__(client_config=AWSCRTHTTPClientConfig(force_http_2=True))
        self._ca_file = ca_file
        options = io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        self._tls_ctx = io.ClientTlsContext(options)

    def __deepcopy__(self, memo: Any) -> _TrustingCRTClient:
        # The base class's copy would go back to the default trust store.
        return _TrustingCRTClient(self._ca_file)


@dataclass(frozen=True)
class ClientOverrides:
    """A plugin of the SDK's client (applied to its configuration once, when the
    configuration is resolved on the first call): the region, the endpoint and the
    transport. Credentials stay with the SDK's default chain (environment variables on
    Lambda, then profiles, container and instance metadata)."""

    region: str
    endpoint_url: str | None
    ca_file: str | None

    def __call__(self, config: AsyncTranscribeStreamingConfig) -> None:
        config.region = self.region
        # Set even when None, so that only the argument decides where streams go.
        config.endpoint_uri = self.endpoint_url
        replaced = config.transport
        # Transcribe streams are duplex: HTTP/2, which aiohttp (the SDK's default) lacks.
        config.transport = (
            _TrustingCRTClient(self.ca_file)
            if self.ca_file
            else AWSCRTHTTPClient(client_config=AWSCRTHTTPClientConfig(force_http_2=True))
        )
        if replaced is not None:
            _close_soon(replaced)


# Closing transports, kept until they are closed (the loop holds tasks only weakly).
_CLOSING: set[asyncio.Task[None]] = set()


def _close_soon(transport: Any) -> None:
    """The SDK builds its default transport (with an open aiohttp session) before the
    plugins run; the one replaced is closed rather than left to warn when collected.
    Plugins run on the loop, within the client's first call."""
    task = asyncio.get_running_loop().create_task(transport.close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def transcribe_client(
    region: str, endpoint_url: str | None = None, ca_file: str | None = None
) -> AsyncTranscribeStreamingClient:
    """The SDK's client, for AWS's regional endpoint unless `endpoint_url` names another
    (the local endpoint, local/endpoints/transcribe_streaming.py). `ca_file` replaces the
    trust store, as boto3 does with AWS_CA_BUNDLE: the local endpoint's certificate
    comes from a CA of its own, and streams only go over HTTP/2 with TLS.

    Nothing is resolved here: the configuration (environment, profiles) is read on the
    client's first call, on the event loop, within the start's timeout."""
    return AsyncTranscribeStreamingClient(plugins=[ClientOverrides(region, endpoint_url, ca_file)])


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
            return _run(_LOOP.get(), self._open(client, request), self._start_timeout_s + _LOOP_GUARD_S)
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
        await _close_quietly(sdk_stream)
        raise
    return sdk_stream, output_stream


async def _close_quietly(sdk_stream: Any) -> None:
    """Closes the input of a stream that failed, was refused or is given up on: its
    own failure is the one worth reporting, and a close that cannot get through (the end
    frame waits on the connection) is not waited for long."""
    try:
        await asyncio.wait_for(sdk_stream.input_stream.close(), _CLOSE_INPUT_S)
    except Exception as error:
        logger.debug("closing a failed transcribe stream: %s", error)


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

    def __init__(self, loop: asyncio.AbstractEventLoop, sdk_stream: Any, output_stream: Any) -> None:
        self._loop = loop
        self._sdk = sdk_stream
        self._output = output_stream
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
        self._loudness = TailLoudness()  # the worker's thread only

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
        self._loudness.feed(pcm)
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
        """The results say no speech is open and none came for a while, and the audio
        itself ends quiet (the results are a second behind the words: see loudness.py)."""
        if not self._loudness.ends_quiet():
            return False
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
            # Fire and forget: the worker does not wait for a stream it gave up on.
            asyncio.run_coroutine_threadsafe(self._release(), self._loop)
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
            await self._sdk.input_stream.send(AudioStreamAudioEvent(value=AudioEvent(audio_chunk=chunk)))
        # Sends the signed empty frame that ends the input; the output goes on to the last final.
        await self._sdk.input_stream.close()

    async def _read_results(self) -> None:
        # Exception events (BadRequest, LimitExceeded, ...) are raised by the iteration.
        async for event in self._output:
            if isinstance(event, TranscriptResultStreamTranscriptEvent):
                transcript = event.value.transcript
                converted = [
                    from_sdk_result(result) for result in (transcript.results if transcript else None) or []
                ]
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
        await self._release()

    async def _release(self) -> None:
        """Ends the HTTP/2 stream on our side, so that a stream given up on does not stay
        open on the client's pooled connection. The input is closed after a failure
        too: awscrt's task that writes the request body waits on it, and would be left
        pending (and later destroyed with an error) otherwise; writing the end into a
        stream the service already ended fails, quietly."""
        await _close_quietly(self._sdk)
        try:
            await self._output.close()
        except Exception as error:
            logger.debug("closing a transcribe output stream: %s", error)
