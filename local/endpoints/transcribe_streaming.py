"""A local Amazon Transcribe streaming endpoint: HTTP/2 over TLS on 127.0.0.1, answering
`POST /stream-transcription` (StartStreamTranscription) as the service does, backed by
the offline recognizer (Silero VAD + Whisper, local/engines/).

    with TranscribeStreamingEndpoint() as endpoint:
        # AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING=endpoint.base_url AWS_CA_BUNDLE=endpoint.ca_file

The wire format and the results' JSON are in transcribe_protocol.py and eventstream.py,
signatures in signing.py; this module is the server around them:

- TLS with ALPN h2 (Transcribe's duplex streams need HTTP/2; the SDK's awscrt client
  offers h2 and http/1.1 and the worker forces h2), with a
  certificate for 127.0.0.1 and localhost from a CA made at start (`ca_file`).
- Per stream: the audio events are checked (CRCs, chunk signatures) and fed to a VAD;
  every `partial_interval_s` the speech heard since the utterance began is transcribed
  again and sent as a partial (words marked `Stable` once consecutive hypotheses agree
  on them); a VAD segment (a pause of 300 ms) is transcribed once more and sent as the
  final under the same ResultId. Whisper runs on one thread for the whole endpoint,
  so partials come as often as the CPU allows, not every 300 ms: a partial is skipped
  while the previous one is being transcribed, and partials together may use at most
  `partial_cpu_share` of that thread (after a partial that took d seconds, the next of
  any stream waits d * (1/share - 1)). Finals are never held back: on a small machine a
  partial that re-decodes the whole utterance so far every 300 ms would keep a core
  busy and starve the rest of the stack (the worker, Translate, Polly).
- Limits: `max_streams` concurrent streams (25, the default quota; the next start gets
  429 LimitExceededException), `no_audio_timeout_s` (15 s without an audio event ends
  the stream with BadRequestException), `max_stream_s` (4 h; LimitExceededException).
- Optional AWS-like latency: `start_delay_s` before the response headers, and
  `result_lag_s`, a floor on how long after its last audio arrived a result is sent
  (docs/LOCAL.md says where the numbers come from).

What it cannot know: the service's real recognition, timing, punctuation and confidence
(Whisper's words are spread evenly over the speech; no `Confidence`), messages the
service does not document, and features the worker does not use (vocabularies, speaker
labels, language identification, redaction, channel identification are ignored)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import trustme

from local.endpoints.eventstream import (
    Message,
    MessageReader,
    ParserError,
    decode_one,
    event_message,
    exception_message,
)
from local.endpoints.signing import ChunkVerifier, SignatureError, verify_request
from local.endpoints.transcribe_protocol import (
    Refused,
    ResultTrack,
    StreamRequest,
    bad_request,
    parse_request,
    transcript_event,
)
from local.engines.vad_stream import Segment, StreamingVad
from shared.languages import LANGUAGES, Language

logger = logging.getLogger(__name__)

PATH = "/stream-transcription"
HEALTH_PATH = "/healthz"
LOCAL_RATE = 16000  # what the offline recognizer (VAD and Whisper) takes
NO_AUDIO_MESSAGE = "Your request timed out because no new audio was received for {seconds:g} seconds."
TOO_MANY_STREAMS = "You have reached your limit of concurrent streams, {limit}. Try again later."
TOO_LONG = "Your stream has reached the maximum duration of {hours:g} hours."  # estimate


class Transcriber(Protocol):
    def transcribe(self, pcm: bytes, sample_rate: int, language: Language) -> str: ...


@dataclass(frozen=True)
class EndpointSettings:
    max_streams: int = 25  # the default quota of concurrent HTTP/2 streams per region
    no_audio_timeout_s: float = 15.0
    max_stream_s: float = 4 * 3600.0
    partial_interval_s: float = 0.3
    # "wall": a partial every partial_interval_s of time, skipped while the previous one
    # is being transcribed (real time, like the service). "audio": one every
    # partial_interval_s of audio, none skipped: the same results however fast the
    # client sends or the CPU runs (tests).
    partial_clock: str = "wall"
    # With the "wall" clock: the share of the transcription thread's time partials may take.
    partial_cpu_share: float = 0.35
    start_delay_s: float = 0.0
    # A floor, not an addition: a result is sent once Whisper has it and no sooner than
    # this long after the audio it ends with arrived (Transcribe's ~1 s behind the words).
    result_lag_s: float = 0.0
    # Access key id -> secret; None: the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the
    # environment at start, the credentials local clients sign with.
    credentials: Mapping[str, str] | None = None
    local_sources: tuple[str, ...] = ("en", "es", "fr", "it", "pt")  # local.engines.LOCAL_SOURCES

    def __post_init__(self) -> None:
        if self.partial_clock not in ("wall", "audio"):
            raise ValueError("partial_clock must be 'wall' or 'audio'")
        if min(self.max_streams, self.no_audio_timeout_s, self.max_stream_s, self.partial_interval_s) <= 0:
            raise ValueError("limits and intervals must be positive")
        if not 0 < self.partial_cpu_share <= 1:
            raise ValueError("partial_cpu_share must be in (0, 1]")


def default_transcriber() -> Transcriber:
    from local.engines import whisper_model

    return whisper_model()


def local_language(request: StreamRequest, sources: tuple[str, ...]) -> Language:
    """The offline recognizer's language for the request, or the local endpoint's own
    refusal of what the service would take but the offline engines cannot do."""
    language = LANGUAGES.get(request.language_code.split("-")[0])
    if language is None or language.code not in sources:
        raise bad_request(f"The local endpoint does not recognize {request.language_code}")
    if request.media_encoding != "pcm" or request.sample_rate != LOCAL_RATE:
        raise bad_request(f"The local endpoint takes pcm at {LOCAL_RATE} Hz only")
    return language


# --- recognition of one stream (no I/O) -------------------------------------------------


@dataclass(frozen=True)
class Job:
    """Audio to transcribe for a result: a partial or the final."""

    track: ResultTrack
    pcm: bytes
    end_s: float
    final: bool


class SpeechTracker:
    """Cuts one stream's audio into jobs: a final per VAD segment, and on demand a
    partial over the speech heard so far. Keeps only the PCM a job may still need."""

    def __init__(self, stability: str | None, vad: StreamingVad | None = None) -> None:
        self._stability = stability
        self._vad = vad or StreamingVad()
        self._pcm = bytearray()
        self._first = 0  # sample index of _pcm[0]
        self._track: ResultTrack | None = None  # the result now open
        self._partial_at = 0  # samples heard when the last partial was asked for

    @property
    def samples(self) -> int:
        return self._vad.samples_fed

    @property
    def heard_since_partial_s(self) -> float:
        return (self.samples - self._partial_at) / LOCAL_RATE

    def feed(self, audio: bytes) -> list[Job]:
        self._pcm += audio
        jobs = [self._final(segment) for segment in self._vad.feed(audio)]
        drop = self._vad.keep_from - self._first
        if drop > 0:
            del self._pcm[: drop * 2]
            self._first += drop
        return jobs

    def flush(self) -> list[Job]:
        return [self._final(segment) for segment in self._vad.flush()]

    def partial(self) -> Job | None:
        """A partial over the speech since the open result began, if any was heard
        since the last one."""
        start = self._vad.speech_from
        heard = self.samples
        if start is None or heard <= self._partial_at:
            return None
        self._partial_at = heard
        if self._track is None:
            self._track = ResultTrack(start / LOCAL_RATE, self._stability)
        speech_end = heard - int(self._vad.trailing_silence_ms * LOCAL_RATE / 1000)
        pcm = self._slice(start, heard)
        return Job(self._track, pcm, max(speech_end, start) / LOCAL_RATE, final=False)

    def _final(self, segment: Segment) -> Job:
        track = self._track
        if track is None or track.start_s * LOCAL_RATE >= segment.end_sample:
            track = ResultTrack(segment.start_sample / LOCAL_RATE, self._stability)
        self._track = None  # the next partial opens the next result
        pcm = self._slice(segment.start_sample, segment.end_sample)
        return Job(track, pcm, segment.end_sample / LOCAL_RATE, final=True)

    def _slice(self, start: int, end: int) -> bytes:
        begin = max(start, self._first) - self._first
        return bytes(self._pcm[begin * 2 : (end - self._first) * 2])


# --- one HTTP/2 stream --------------------------------------------------------------------


class _Sender(Protocol):
    def send(self, stream_id: int, data: bytes, end: bool) -> None: ...

    def send_headers(self, stream_id: int, headers: list[tuple[str, str]], end: bool) -> None: ...


@dataclass
class _Outgoing:
    ready_at: float
    data: bytes
    end: bool


@dataclass(eq=False)  # compared and hashed by identity: the endpoint keeps a set of the open ones
class TranscriptionStream:
    """One StartStreamTranscription, from its accepted request to its last event."""

    endpoint: _Runtime
    connection: _Sender
    stream_id: int
    request_id: str
    request: StreamRequest
    language: Language
    verifier: ChunkVerifier | None
    tracker: SpeechTracker
    closed: bool = False
    input_ended: bool = False
    _reader: MessageReader = field(default_factory=MessageReader)
    _jobs: asyncio.Queue[tuple[Job, asyncio.Future[str]] | None] = field(default_factory=asyncio.Queue)
    _outgoing: asyncio.Queue[_Outgoing] = field(default_factory=asyncio.Queue)
    _partial_busy: bool = False
    _answered: bool = False
    # (samples heard after an audio event, loop time it arrived): when a result's audio came
    _arrivals: deque[tuple[int, float]] = field(default_factory=deque)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        self._last_audio = self._started

    async def open(self) -> None:
        settings = self.endpoint.settings
        if settings.start_delay_s:
            await asyncio.sleep(settings.start_delay_s)
        if self.closed:
            return
        self._answer()
        self._tasks += [
            asyncio.create_task(self._send_loop()),
            asyncio.create_task(self._result_loop()),
            asyncio.create_task(self._partial_loop()),
            asyncio.create_task(self._watchdog()),
        ]

    def _answer(self) -> None:
        """The 200 and its headers, once: before the first event or exception."""
        if not self._answered:
            self._answered = True
            headers = self.request.response_headers(self.request_id)
            self.connection.send_headers(self.stream_id, headers, False)

    # input, on the loop ----------------------------------------------------------------

    def on_data(self, data: bytes) -> None:
        if self.closed or self.input_ended:
            return
        try:
            for wrapper in self._reader.feed(data):
                if self.verifier is not None:
                    self.verifier.verify(wrapper)
                if not wrapper.payload:  # the signed empty wrapper: end of the input
                    self.on_input_end()
                    return
                self._on_event(decode_one(wrapper.payload))
        except SignatureError as error:
            self.fail(error.error_type, str(error))
        except ParserError as error:
            self.fail("BadRequestException", f"Could not decode the event stream: {error}")  # estimate

    def _on_event(self, message: Message) -> None:
        if message.header(":message-type") != "event" or message.header(":event-type") != "AudioEvent":
            return  # the service's input stream has AudioEvent and ConfigurationEvent; the latter is ignored
        if not message.payload:  # "Transcribe reads an empty audio event as the end"
            self.on_input_end()
            return
        self._last_audio = asyncio.get_running_loop().time()
        self._arrivals.append((self.tracker.samples + len(message.payload) // 2, self._last_audio))
        for final in self.tracker.feed(message.payload):
            self._submit(final)
        settings = self.endpoint.settings
        due = self.tracker.heard_since_partial_s >= settings.partial_interval_s
        if settings.partial_clock == "audio" and due and (partial := self.tracker.partial()):
            self._submit(partial)

    def on_input_end(self) -> None:
        if self.closed or self.input_ended:
            return
        self.input_ended = True
        for job in self.tracker.flush():
            self._submit(job)
        self._jobs.put_nowait(None)

    def _submit(self, job: Job) -> None:
        future = self.endpoint.transcribe(job.pcm, self.language, partial=not job.final)
        if not job.final:
            self._partial_busy = True
        self._jobs.put_nowait((job, future))

    # output ------------------------------------------------------------------------------

    async def _result_loop(self) -> None:
        """Results in the order their jobs were made, whatever the order they finish."""
        while (entry := await self._jobs.get()) is not None:
            job, future = entry
            text = (await future).strip()
            if not job.final:
                self._partial_busy = False
            # Jobs are read in the order they were made: a result's partials go before its final.
            if self.closed or not text:
                continue
            result = job.track.final(text, job.end_s) if job.final else job.track.partial(text, job.end_s)
            ready_at = self._heard_at(job.end_s) + self.endpoint.settings.result_lag_s
            self._queue_out(event_message("TranscriptEvent", transcript_event([result])), ready_at)
        self._queue_out(b"", end=True)

    def _heard_at(self, end_s: float) -> float:
        """When the audio up to `end_s` of the stream had arrived (the loop's clock).
        Arrivals before it are dropped: results come in the order of their audio."""
        sample = round(end_s * LOCAL_RATE)
        while len(self._arrivals) > 1 and self._arrivals[0][0] < sample:
            self._arrivals.popleft()
        return self._arrivals[0][1] if self._arrivals else asyncio.get_running_loop().time()

    def _queue_out(self, data: bytes, ready_at: float = 0.0, end: bool = False) -> None:
        # Never ahead of an item queued before it: the send loop keeps the queue's order.
        self._outgoing.put_nowait(_Outgoing(ready_at, data, end))

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self._outgoing.get()
            if item.ready_at > loop.time():
                await asyncio.sleep(item.ready_at - loop.time())
            self.connection.send(self.stream_id, item.data, item.end)
            if item.end:
                self.finish()
                return

    async def _partial_loop(self) -> None:
        interval = self.endpoint.settings.partial_interval_s
        while self.endpoint.settings.partial_clock == "wall" and not self.input_ended and not self.closed:
            await asyncio.sleep(interval)
            if self._partial_busy or self.input_ended or not self.endpoint.partial_allowed():
                continue
            if job := self.tracker.partial():
                self._submit(job)

    async def _watchdog(self) -> None:
        settings = self.endpoint.settings
        loop = asyncio.get_running_loop()
        tick = min(1.0, settings.no_audio_timeout_s / 5, settings.max_stream_s / 5)
        while not self.closed:
            await asyncio.sleep(tick)
            now = loop.time()
            if not self.input_ended and now - self._last_audio >= settings.no_audio_timeout_s:
                self.fail("BadRequestException", NO_AUDIO_MESSAGE.format(seconds=settings.no_audio_timeout_s))
            elif now - self._started >= settings.max_stream_s:
                self.fail("LimitExceededException", TOO_LONG.format(hours=settings.max_stream_s / 3600))

    # the end -----------------------------------------------------------------------------

    def fail(self, exception_type: str, message: str) -> None:
        """A mid-stream exception: sent at once, ahead of any delayed result, and the
        stream ends."""
        if self.closed:
            return
        logger.info("transcribe stream %s: %s: %s", self.stream_id, exception_type, message)
        self._answer()  # audio that came with the request can fail the stream before open() ran
        self.connection.send(self.stream_id, exception_message(exception_type, message), True)
        self.finish()

    def finish(self) -> None:
        """The stream is over (ended, failed or reset): its slot is free again."""
        if self.closed:
            return
        self.closed = True
        self.endpoint.release(self)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()


# --- the endpoint ---------------------------------------------------------------------------


class _Runtime:
    """What the streams share: settings, the slots, the one transcription thread."""

    def __init__(
        self,
        settings: EndpointSettings,
        transcriber: Callable[[], Transcriber],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._transcriber_factory = transcriber
        self._transcriber: Transcriber | None = None  # made on the transcription thread, on first use
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-transcribe")
        self._partials_resume_at = 0.0  # on `clock`: no partial of any stream starts before
        self.active: set[TranscriptionStream] = set()
        self.connections: set[_Connection] = set()
        self.secrets: Mapping[str, str] = settings.credentials or _env_credentials()

    def transcribe(self, pcm: bytes, language: Language, partial: bool = False) -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, self._transcribe, pcm, language, partial)

    def partial_allowed(self) -> bool:
        """Whether a partial may start now without partials taking more than their share."""
        return self._clock() >= self._partials_resume_at

    def _transcribe(self, pcm: bytes, language: Language, partial: bool) -> str:
        if self._transcriber is None:
            self._transcriber = self._transcriber_factory()
        began = self._clock()
        text = self._transcriber.transcribe(pcm, LOCAL_RATE, language) if pcm else ""
        if partial and self.settings.partial_clock == "wall":
            ended = self._clock()
            share = self.settings.partial_cpu_share
            self._partials_resume_at = ended + (ended - began) * (1 / share - 1)
        return text

    def warm_up(self) -> None:
        from faster_whisper.vad import get_vad_model

        get_vad_model()
        self._executor.submit(self._transcribe, b"\0\0" * LOCAL_RATE, LANGUAGES["en"], False).result()

    def admit(self) -> None:
        if len(self.active) >= self.settings.max_streams:
            message = TOO_MANY_STREAMS.format(limit=self.settings.max_streams)
            raise Refused(429, "LimitExceededException", message)

    def release(self, stream: TranscriptionStream) -> None:
        self.active.discard(stream)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _env_credentials() -> dict[str, str]:
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    return {key: secret} if key and secret else {}


class _Connection(asyncio.Protocol):
    """One HTTP/2 connection (the SDK opens one and multiplexes its streams on it)."""

    def __init__(self, runtime: _Runtime) -> None:
        self._runtime = runtime
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self._h2 = h2.connection.H2Connection(config)
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, TranscriptionStream] = {}
        self._outbox: dict[int, deque[tuple[bytes, bool]]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._runtime.connections.add(self)
        self._h2.initiate_connection()
        self._write()

    def connection_lost(self, exc: Exception | None) -> None:
        self._runtime.connections.discard(self)
        for stream in list(self._streams.values()):
            stream.finish()
        self._streams.clear()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._write()
            if self._transport is not None:
                self._transport.close()
            return
        for event in events:
            self._on_event(event)
        self._write()

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            headers = {str(k).lower(): str(v) for k, v in event.headers or []}
            self._on_request(event.stream_id, headers)
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if (stream := self._streams.get(event.stream_id)) is not None:
                stream.on_data(event.data or b"")
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id is not None:
            if (stream := self._streams.get(event.stream_id)) is not None:
                stream.on_input_end()
        elif isinstance(event, h2.events.StreamReset) and event.stream_id is not None:
            self._outbox.pop(event.stream_id, None)
            if (stream := self._streams.pop(event.stream_id, None)) is not None:
                stream.finish()
        elif isinstance(event, h2.events.WindowUpdated):
            for stream_id in list(self._outbox):
                self._flush(stream_id)
        elif isinstance(event, h2.events.ConnectionTerminated) and self._transport is not None:
            self._transport.close()

    def _on_request(self, stream_id: int, headers: dict[str, str]) -> None:
        method, path = headers.get(":method"), headers.get(":path", "").split("?")[0]
        if method == "GET" and path == HEALTH_PATH:
            self.send_headers(stream_id, [(":status", "200"), ("content-type", "text/plain")], False)
            self.send(stream_id, b"ok", True)
            return
        request_id = str(uuid.uuid4())
        try:
            if method != "POST" or path != PATH:
                raise Refused(404, "UnknownOperationException", f"No operation at {method} {path}")
            stream = self._accept(stream_id, request_id, headers, str(method), path)
        except Refused as refused:
            self._refuse(stream_id, request_id, refused)
            return
        except Exception:  # a bug of the endpoint: the client gets the service's 500, the connection lives
            logger.exception("transcribe request failed")
            self._refuse(stream_id, request_id, Refused(500, "InternalFailureException", "Internal failure"))
            return
        self._streams[stream_id] = stream
        self._runtime.active.add(stream)
        asyncio.get_running_loop().create_task(stream.open())

    def _accept(
        self, stream_id: int, request_id: str, headers: dict[str, str], method: str, path: str
    ) -> TranscriptionStream:
        """The checks in the service's order as far as it shows: signature, request, quota."""
        signed_headers = {**headers, "host": headers.get(":authority", "")}
        try:
            signature, credentials = verify_request(method, path, signed_headers, self._runtime.secrets)
        except SignatureError as error:
            raise Refused(403, error.error_type, str(error)) from None
        request = parse_request(headers)
        language = local_language(request, self._runtime.settings.local_sources)
        self._runtime.admit()
        return TranscriptionStream(
            endpoint=self._runtime,
            connection=self,
            stream_id=stream_id,
            request_id=request_id,
            request=request,
            language=language,
            verifier=ChunkVerifier(signature, credentials),
            tracker=SpeechTracker(request.stability),
        )

    def _refuse(self, stream_id: int, request_id: str, refused: Refused) -> None:
        headers = [
            (":status", str(refused.status)),
            ("content-type", "application/json"),
            ("x-amzn-requestid", request_id),
            ("x-amzn-errortype", refused.error_type),
        ]
        self.send_headers(stream_id, headers, False)
        self.send(stream_id, json.dumps({"Message": refused.message}).encode(), True)

    # writing, within HTTP/2 flow control ------------------------------------------------

    def send_headers(self, stream_id: int, headers: list[tuple[str, str]], end: bool) -> None:
        try:
            self._h2.send_headers(stream_id, headers, end_stream=end)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            return
        self._write()

    def send(self, stream_id: int, data: bytes, end: bool) -> None:
        self._outbox.setdefault(stream_id, deque()).append((data, end))
        self._flush(stream_id)
        if end:
            self._streams.pop(stream_id, None)

    def _flush(self, stream_id: int) -> None:
        queue = self._outbox.get(stream_id)
        try:
            while queue:
                data, end = queue[0]
                room = min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
                if data and room <= 0:
                    break
                chunk, rest = data[:room], data[room:]
                if rest:
                    queue[0] = (rest, end)
                    self._h2.send_data(stream_id, chunk)
                    continue
                queue.popleft()
                self._h2.send_data(stream_id, chunk, end_stream=end)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            queue = None
        if not queue:
            self._outbox.pop(stream_id, None)
        self._write()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _write(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


@dataclass
class _Tls:
    ca_file: Path
    context: ssl.SSLContext


def _tls(folder: Path) -> _Tls:
    """A CA made now, a certificate from it for the loopback names, ALPN h2 only."""
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    context.set_alpn_protocols(["h2"])
    ca_file = folder / "transcribe-local-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return _Tls(ca_file, context)


class TranscribeStreamingEndpoint:
    """The endpoint on its own event loop thread. `start()` returns once it listens;
    `base_url` and `ca_file` are what a client needs."""

    def __init__(
        self,
        settings: EndpointSettings | None = None,
        transcriber: Callable[[], Transcriber] = default_transcriber,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.settings = settings or EndpointSettings()
        self._transcriber = transcriber
        self._host, self._port = host, port
        self._folder = tempfile.TemporaryDirectory(prefix="transcribe-local-")
        self._tls = _tls(Path(self._folder.name))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._runtime: _Runtime | None = None

    @property
    def ca_file(self) -> str:
        return str(self._tls.ca_file)

    @property
    def base_url(self) -> str:
        return f"https://{self._host}:{self._port}"

    @property
    def active_streams(self) -> int:
        return len(self._runtime.active) if self._runtime is not None else 0

    def start(self, warm_up: bool = False) -> TranscribeStreamingEndpoint:
        """`warm_up` loads the models first, so that the first partial does not wait for them."""
        if self._loop is not None:
            raise RuntimeError("the endpoint is already started")
        runtime = _Runtime(self.settings, self._transcriber)
        if warm_up:
            runtime.warm_up()
        self._runtime = runtime
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="transcribe-endpoint", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(runtime), loop).result(10)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def _listen(self, runtime: _Runtime) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        context = self._tls.context
        return await loop.create_server(lambda: _Connection(runtime), self._host, self._port, ssl=context)

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def close() -> None:
            server.close()
            if self._runtime is not None:
                for stream in list(self._runtime.active):
                    stream.finish()
                for connection in list(self._runtime.connections):
                    connection.close()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            if self._runtime is not None:
                self._runtime.close()
            self._loop = self._server = None
            self._folder.cleanup()

    def __enter__(self) -> TranscribeStreamingEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """`python -m local.endpoints.transcribe_streaming`: serves until Ctrl-C and prints
    the two variables that point the worker's production recognizer at it."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--start-delay", type=float, default=0.0, help="seconds before the 200")
    parser.add_argument(
        "--result-lag",
        type=float,
        default=0.0,
        help="seconds, at least, between a result's audio and the result",
    )
    args = parser.parse_args()
    settings = EndpointSettings(start_delay_s=args.start_delay, result_lag_s=args.result_lag)
    endpoint = TranscribeStreamingEndpoint(settings, port=args.port).start(warm_up=True)
    print(f"AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING={endpoint.base_url}", flush=True)
    print(f"AWS_CA_BUNDLE={endpoint.ca_file}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.stop()


if __name__ == "__main__":
    main()
