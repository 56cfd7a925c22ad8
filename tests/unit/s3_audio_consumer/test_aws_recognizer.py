"""The Transcribe streaming recognizer against a fake client at the SDK boundary: the
fake takes the SDK's own `StartStreamTranscriptionInput` and `AudioStreamAudioEvent`s,
and its output stream yields the SDK's own `TranscriptResultStreamTranscriptEvent`
(`TranscriptEvent`/`Result`/`Item`) objects and raises its modeled exceptions, as
aws-sdk-transcribe-streaming's event receiver does."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_sdk_transcribe_streaming.client import AsyncTranscribeStreamingClient
from aws_sdk_transcribe_streaming.config import AsyncTranscribeStreamingConfig
from aws_sdk_transcribe_streaming.models import (
    START_STREAM_TRANSCRIPTION,
    Alternative,
    AudioStreamAudioEvent,
    BadRequestException,
    ConflictException,
    InternalFailureException,
    Item,
    LimitExceededException,
    Result,
    ServiceUnavailableException,
    StartStreamTranscriptionInput,
    StartStreamTranscriptionOutput,
    Transcript,
    TranscriptEvent,
    TranscriptResultStreamTranscriptEvent,
)
from smithy_aws_event_stream.exceptions import UnmodeledEventError
from smithy_core.endpoints import EndpointResolverParams
from smithy_core.exceptions import CallError, SerializationError, SmithyIdentityError
from smithy_core.types import TypedProperties
from smithy_http.aio.crt import AWSCRTHTTPClient

from s3_audio_consumer.aws_recognizer import AwsRecognizer, StreamSettings
from s3_audio_consumer.aws_stream import AwsRecognitionStream
from s3_audio_consumer.recognition import AUDIO_EVENT_BYTES, StreamFailed
from s3_audio_consumer.transcribe_sdk import ClientOverrides, stream_failed, transcribe_client
from s3_audio_consumer.utterances import StreamResult, from_sdk_result
from s3_audio_consumer.wiring import WorkerConfig
from shared.languages import LANGUAGES

ENGLISH = LANGUAGES["en"]
WAIT_S = 5.0  # an upper bound for waiting on the loop thread, never a speed requirement


@pytest.fixture(autouse=True)
def closes_without_timeout(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A close that ran into its timeout would hide a stream that never finished."""
    with caplog.at_level(logging.WARNING, logger="s3_audio_consumer.aws_recognizer"):
        yield
    assert not [r for r in caplog.get_records("call") if "no end of results" in r.getMessage()]


def result(words: list[tuple[str, bool]], result_id: str, partial: bool) -> Result:
    """A result of timed words, 0.3 s each, with the given `stable` flags."""
    items = [
        Item(start_time=0.3 * n, end_time=0.3 * n + 0.25, type="pronunciation", content=w, stable=s)
        for n, (w, s) in enumerate(words)
    ]
    text = " ".join(w for w, _ in words)
    alternative = Alternative(transcript=text, items=items)
    return Result(
        result_id=result_id,
        start_time=0.0,
        end_time=0.3 * len(words),
        is_partial=partial,
        alternatives=[alternative],
    )


def event(*results: Result) -> TranscriptResultStreamTranscriptEvent:
    return TranscriptResultStreamTranscriptEvent(
        value=TranscriptEvent(transcript=Transcript(results=list(results)))
    )


def first_result(event: TranscriptResultStreamTranscriptEvent) -> Result:
    assert event.value.transcript is not None and event.value.transcript.results
    return event.value.transcript.results[0]


PARTIALS_AND_FINAL = [
    event(result([("hello", True), ("big", False)], "r0", partial=True)),
    event(result([("hello", True), ("big", True), ("wide", False)], "r0", partial=True)),
    event(result([("hello", True), ("big", True), ("wide", True), ("world", False)], "r0", partial=True)),
    event(result([("hello", False), ("big", False), ("wide", False), ("world", False)], "r0", partial=False)),
]


class _Input:
    """The SDK's event publisher: what the adapter sends."""

    def __init__(self, stream: FakeStream) -> None:
        self._stream = stream

    async def send(self, event: AudioStreamAudioEvent) -> None:
        assert isinstance(event, AudioStreamAudioEvent)
        assert event.value.audio_chunk is not None
        self._stream.chunks.append(event.value.audio_chunk)
        self._stream.threads.add(threading.current_thread())
        self._stream.input_seen.set()
        await asyncio.sleep(0)

    async def close(self) -> None:
        # The SDK's publisher sends the end frame once, however often it is closed.
        if not self._stream.ended.is_set():
            self._stream.end_calls += 1
        self._stream.input_seen.set()
        self._stream.ended.set()


@dataclass
class Script:
    """What one stream's output does: `early` events once the first audio (or the end of
    input) arrived, then
    `late` ones after the input is closed (like the service, which sends the last final then);
    `fail` is raised after the early events, or the output just ends there if `end_early`;
    `hang` never ends the output."""

    early: list[TranscriptResultStreamTranscriptEvent] = field(default_factory=list)
    late: list[TranscriptResultStreamTranscriptEvent] = field(default_factory=list)
    fail: Exception | None = None
    end_early: bool = False
    hang: bool = False


class _Output:
    """The SDK's event receiver: async-iterable, closed by the adapter when done."""

    def __init__(self, stream: FakeStream) -> None:
        self._events = stream.events()
        self.closed = False

    def __aiter__(self) -> Any:
        return self._events

    async def close(self) -> None:
        self.closed = True


class FakeStream:
    """The SDK's duplex stream: `input_stream`, and `await_output` for the answer and
    the output stream."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.chunks: list[bytes] = []
        self.threads: set[threading.Thread] = set()
        self.end_calls = 0
        self.input_seen = asyncio.Event()  # audio or the end of input
        self.ended = asyncio.Event()
        self.output_cancelled = threading.Event()
        self.input_stream = _Input(self)
        self.output_stream = _Output(self)

    async def await_output(self) -> tuple[StartStreamTranscriptionOutput, _Output]:
        return StartStreamTranscriptionOutput(), self.output_stream

    async def events(self) -> Any:
        try:
            await self.input_seen.wait()
            for item in self.script.early:
                yield item
            if self.script.fail is not None:
                raise self.script.fail
            if self.script.end_early:
                return
            await self.ended.wait()
            for item in self.script.late:
                yield item
            if self.script.hang:
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.output_cancelled.set()
            raise


@dataclass
class FakeTranscribeClient:
    """`start_stream_transcription` as the SDK's client has it: the request as a
    `StartStreamTranscriptionInput` in, a duplex stream out. A script step that is an
    exception is raised when the answer is awaited, as the SDK raises a refused
    request's error; "hang" never answers."""

    script: list[Script | Exception | str] = field(default_factory=list)
    requests: list[StartStreamTranscriptionInput] = field(default_factory=list)
    streams: list[FakeStream] = field(default_factory=list)
    start_threads: list[threading.Thread] = field(default_factory=list)

    async def start_stream_transcription(self, *, input: StartStreamTranscriptionInput) -> Any:
        self.requests.append(input)
        self.start_threads.append(threading.current_thread())
        step = self.script.pop(0)
        if isinstance(step, Script):
            stream = FakeStream(step)
            self.streams.append(stream)
            return stream
        return _Refused(step)


class _Refused:
    """A stream whose request the service refuses (or never answers)."""

    def __init__(self, step: Exception | str) -> None:
        self._step = step
        self.input_stream = self
        self.closed = False

    async def await_output(self) -> Any:
        if isinstance(self._step, Exception):
            raise self._step
        assert self._step == "hang"
        await asyncio.Event().wait()

    async def close(self) -> None:
        self.closed = True


def recognizer(
    client: FakeTranscribeClient, settings: StreamSettings | None = None, **options: Any
) -> AwsRecognizer:
    return AwsRecognizer(lambda: client, settings or StreamSettings(), **options)


def pcm(n: int) -> bytes:
    """n bytes that differ from place to place, so that order and joins are checked."""
    return bytes(i * 7 % 251 for i in range(n))


def eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the condition did not hold in time")
        time.sleep(0.01)


def failure_of(call: Callable[[], object]) -> StreamFailed:
    """Calls `call` until it raises StreamFailed (the failure is noticed on the loop thread)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            call()
        except StreamFailed as failure:
            return failure
        time.sleep(0.01)
    pytest.fail("no StreamFailed in time")


def test_audio_reaches_the_sdk_as_uniform_events_in_order() -> None:
    client = FakeTranscribeClient([Script()])
    stream = recognizer(client).start(ENGLISH, 16_000)
    audio = pcm(AUDIO_EVENT_BYTES * 7 + 1234)
    pieces = [1, 999, 3200, 7, AUDIO_EVENT_BYTES * 2 + 5, 4001]
    at = 0
    for size in [*pieces, len(audio)]:
        stream.send(audio[at : at + size])
        at += size
    stream.close(WAIT_S)
    sdk = client.streams[0]
    assert b"".join(sdk.chunks) == audio
    assert [len(chunk) for chunk in sdk.chunks] == [AUDIO_EVENT_BYTES] * 7 + [1234]
    assert sdk.end_calls == 1
    assert sdk.output_stream.closed  # the stream's HTTP/2 side is let go


def test_an_exact_multiple_sends_no_empty_event_at_close() -> None:
    # An empty audio event would tell Transcribe that the input ended.
    client = FakeTranscribeClient([Script()])
    stream = recognizer(client).start(ENGLISH, 16_000)
    stream.send(pcm(AUDIO_EVENT_BYTES * 3))
    stream.close(WAIT_S)
    assert [len(chunk) for chunk in client.streams[0].chunks] == [AUDIO_EVENT_BYTES] * 3
    assert client.streams[0].end_calls == 1


def test_partials_and_final_come_back_in_order_with_stable_flags() -> None:
    client = FakeTranscribeClient([Script(early=PARTIALS_AND_FINAL[:2], late=PARTIALS_AND_FINAL[2:])])
    stream = recognizer(client).start(ENGLISH, 16_000)
    stream.send(pcm(AUDIO_EVENT_BYTES + 10))
    collected: list[StreamResult] = []

    def two_partials() -> bool:
        collected.extend(stream.results())
        return len(collected) >= 2

    eventually(two_partials)
    assert stream.results() == []  # taken: results() returns each result once
    collected += stream.close(WAIT_S)

    expected = [from_sdk_result(first_result(e)) for e in PARTIALS_AND_FINAL]
    assert collected == expected
    assert [r.is_partial for r in collected] == [True, True, True, False]
    assert [[w.stable for w in r.words] for r in collected] == [
        [True, False],
        [True, True, False],
        [True, True, True, False],
        [True, True, True, True],  # a final's words are settled
    ]
    assert stream.close(WAIT_S) == []


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (LimitExceededException("too many streams"), True),
        (ServiceUnavailableException("try later"), True),
        (InternalFailureException("oops"), True),
        (ConflictException("a new stream with the same session id"), True),
        (ConnectionError("reset"), True),
        (OSError("Failed to read from stream."), True),  # how the SDK reports a dropped connection
        (CallError("throttled", fault="client", is_throttling_error=True), True),
        (CallError("Unknown error - status: 503", fault="server"), True),
        (BadRequestException("no such vocabulary"), False),
        (CallError("Unknown error - status: 403 - id: InvalidSignatureException", fault="client"), False),
        (SmithyIdentityError("no credentials"), False),
        (SerializationError("bad request shape"), False),
    ],
)
def test_errors_at_start_become_stream_failed(error: Exception, retryable: bool) -> None:
    client = FakeTranscribeClient([error])
    with pytest.raises(StreamFailed) as failure:
        recognizer(client).start(ENGLISH, 16_000)
    assert failure.value.retryable is retryable
    assert type(error).__name__ in str(failure.value)
    assert failure.value.__cause__ is error


def test_a_start_that_does_not_answer_times_out_as_retryable() -> None:
    client = FakeTranscribeClient(["hang", Script()])
    rec = recognizer(client, start_timeout_s=0.2)
    with pytest.raises(StreamFailed) as failure:
        rec.start(ENGLISH, 16_000)
    assert failure.value.retryable
    rec.start(ENGLISH, 16_000).close(WAIT_S)  # the loop is still usable


def test_a_language_without_a_transcribe_locale_is_refused() -> None:
    client = FakeTranscribeClient([Script()])
    with pytest.raises(ValueError, match="nl"):
        recognizer(client).start(LANGUAGES["nl"], 16_000)
    assert client.requests == []


def test_an_output_stream_error_midway_fails_the_next_send() -> None:
    failing = Script(early=PARTIALS_AND_FINAL[:1], fail=InternalFailureException("processing stopped"))
    client = FakeTranscribeClient([failing])
    stream = recognizer(client).start(ENGLISH, 16_000)
    stream.send(pcm(AUDIO_EVENT_BYTES))

    failure = failure_of(lambda: stream.send(pcm(100)))
    assert failure.retryable
    assert "InternalFailureException" in str(failure)
    with pytest.raises(StreamFailed):
        stream.results()
    # Closing a broken stream neither hangs nor raises; what did arrive is returned.
    assert stream.close(WAIT_S) == [from_sdk_result(first_result(PARTIALS_AND_FINAL[0]))]
    # Nothing more was sent into the broken stream; its input is closed all the same, so
    # that the SDK's request body ends.
    assert len(client.streams[0].chunks) == 1
    assert client.streams[0].end_calls == 1
    assert client.streams[0].output_stream.closed


def test_a_bad_request_midway_is_not_retryable() -> None:
    client = FakeTranscribeClient([Script(fail=BadRequestException("audio events too large"))])
    stream = recognizer(client).start(ENGLISH, 16_000)
    stream.send(pcm(AUDIO_EVENT_BYTES))
    assert failure_of(stream.results).retryable is False
    stream.close(WAIT_S)


@pytest.mark.parametrize(
    "error",
    [
        UnmodeledEventError("ThrottlingException", "slow down"),  # an exception event the model does not name
        OSError("Failed to read from stream."),  # the connection dropped under the receiver
        LimitExceededException("the stream ran past its longest duration"),
    ],
)
def test_other_output_stream_errors_midway_are_retryable(error: Exception) -> None:
    client = FakeTranscribeClient([Script(fail=error)])
    stream = recognizer(client).start(ENGLISH, 16_000)
    stream.send(pcm(AUDIO_EVENT_BYTES))
    failure = failure_of(stream.results)
    assert failure.retryable
    assert type(error).__name__ in str(failure)
    assert stream_failed(error, "receive").retryable
    stream.close(WAIT_S)


def test_an_output_stream_that_ends_early_fails_the_stream() -> None:
    # Audio sent after the service ended the stream would be lost without a word.
    client = FakeTranscribeClient([Script(early=PARTIALS_AND_FINAL[:1], end_early=True)])
    stream = recognizer(client).start(ENGLISH, 16_000)
    stream.send(pcm(AUDIO_EVENT_BYTES))
    assert failure_of(lambda: stream.send(b"")).retryable
    stream.close(WAIT_S)


def test_close_gives_up_after_its_timeout_and_cancels(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeTranscribeClient([Script(early=PARTIALS_AND_FINAL[:1], hang=True)])
    stream = recognizer(client).start(ENGLISH, 16_000)
    stream.send(pcm(AUDIO_EVENT_BYTES))
    remaining = stream.close(0.3)
    assert remaining == [from_sdk_result(first_result(PARTIALS_AND_FINAL[0]))]
    assert "no end of results after 0.3 s, cancelled" in caplog.text
    caplog.clear()  # expected here (see closes_without_timeout)
    assert client.streams[0].output_cancelled.wait(WAIT_S)
    eventually(lambda: client.streams[0].output_stream.closed)
    with pytest.raises(RuntimeError):
        stream.send(pcm(10))


def test_streams_in_sequence_share_the_one_loop_thread() -> None:
    client = FakeTranscribeClient([Script(), Script()])
    built: list[FakeTranscribeClient] = []

    def factory() -> FakeTranscribeClient:
        built.append(client)
        return client

    rec = AwsRecognizer(factory, StreamSettings())
    for _ in range(2):
        stream = rec.start(ENGLISH, 16_000)
        assert isinstance(stream, AwsRecognitionStream)
        stream.send(pcm(AUDIO_EVENT_BYTES))
        stream.close(WAIT_S)
    threads = set(client.start_threads) | client.streams[0].threads | client.streams[1].threads
    assert len(threads) == 1
    (loop_thread,) = threads
    assert loop_thread is not threading.current_thread()
    assert loop_thread.daemon
    assert len(built) == 1  # the client is built once and reused


def test_start_asks_for_stabilization_by_default() -> None:
    client = FakeTranscribeClient([Script()])
    recognizer(client).start(LANGUAGES["ja"], 16_000).close(WAIT_S)
    assert client.requests == [
        StartStreamTranscriptionInput(
            language_code="ja-JP",
            media_sample_rate_hertz=16_000,
            media_encoding="pcm",
            enable_partial_results_stabilization=True,
            partial_results_stability="high",
        )
    ]


def test_start_passes_the_vocabulary_and_stability_when_set() -> None:
    client = FakeTranscribeClient([Script(), Script()])
    settings = StreamSettings(vocabulary_name="conference-terms", partial_results_stability="medium")
    recognizer(client, settings).start(ENGLISH, 16_000).close(WAIT_S)
    recognizer(client, StreamSettings(partial_results_stability=None)).start(ENGLISH, 16_000).close(WAIT_S)
    with_vocabulary, without_stabilization = client.requests
    assert with_vocabulary.vocabulary_name == "conference-terms"
    assert with_vocabulary.enable_partial_results_stabilization is True
    assert with_vocabulary.partial_results_stability == "medium"
    assert without_stabilization.vocabulary_name is None
    assert without_stabilization.enable_partial_results_stabilization is False
    assert without_stabilization.partial_results_stability is None


def test_stream_settings_refuse_an_unknown_stability() -> None:
    with pytest.raises(ValueError):
        StreamSettings(partial_results_stability="very")


async def endpoint_of(overrides: ClientOverrides) -> str:
    """Where the SDK sends a stream once `overrides` (the client's plugin) is applied to
    a configuration resolved as the client resolves it."""
    config = await AsyncTranscribeStreamingConfig.resolve()
    overrides(config)
    assert config.endpoint_resolver is not None
    params = EndpointResolverParams(
        operation=START_STREAM_TRANSCRIPTION,
        input=StartStreamTranscriptionInput(),
        context=TypedProperties({"config": config}),
    )
    return str((await config.endpoint_resolver.resolve_endpoint(params)).uri.build())


def test_the_client_goes_to_aws_unless_an_endpoint_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK would read this variable itself; the argument decides, not the environment.
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING", "https://elsewhere:1")
    on_aws = asyncio.run(endpoint_of(ClientOverrides("eu-west-1", None, None)))
    local = asyncio.run(endpoint_of(ClientOverrides("eu-west-1", "https://127.0.0.1:8443", None)))
    assert on_aws == "https://transcribestreaming.eu-west-1.amazonaws.com"
    assert local == "https://127.0.0.1:8443"


def test_the_client_speaks_http2_and_trusts_only_the_named_ca(tmp_path: Any) -> None:
    async def transport(ca_file: str | None) -> Any:
        config = await AsyncTranscribeStreamingConfig.resolve()
        ClientOverrides("eu-west-1", None, ca_file)(config)
        return config.transport

    plain = asyncio.run(transport(None))
    with pytest.raises(Exception, match="ca"):  # awscrt refuses a trust store it cannot read
        asyncio.run(transport(str(tmp_path / "missing-ca.pem")))
    assert isinstance(plain, AWSCRTHTTPClient)
    assert plain.SUPPORTS_DUPLEX_STREAMING
    assert isinstance(transcribe_client("eu-west-1"), AsyncTranscribeStreamingClient)


WORKER_ENV = {
    "CHUNK_BUCKET": "chunks",
    "SESSIONS_TABLE": "sessions",
    "AUDIO_PROCESSOR_FUNCTION": "processor",
    "UNDELIVERED_QUEUE_URL": "https://queue",
}


def test_the_worker_reads_the_endpoint_and_ca_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in WORKER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING", raising=False)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    on_aws = WorkerConfig.from_env()
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING", "https://127.0.0.1:8443")
    monkeypatch.setenv("AWS_CA_BUNDLE", "/tmp/ca.pem")
    local = WorkerConfig.from_env()
    assert (on_aws.transcribe_endpoint, on_aws.ca_bundle) == (None, None)
    assert (local.transcribe_endpoint, local.ca_bundle) == ("https://127.0.0.1:8443", "/tmp/ca.pem")
