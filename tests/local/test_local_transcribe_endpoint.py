"""The local Transcribe streaming endpoint (local/endpoints/): the service's wire
protocol, errors and limits, reached through the real aws-sdk-transcribe-streaming SDK and the
worker's production adapter (aws_recognizer.py), and byte for byte with botocore's
event-stream decoder. Recognition here is a scripted transcriber behind the real VAD
on a real capture; tests/integration/test_local_transcribe_capture.py runs Whisper."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_sdk_transcribe_streaming.client import AsyncTranscribeStreamingClient
from aws_sdk_transcribe_streaming.models import (
    BadRequestException,
    LimitExceededException,
    StartStreamTranscriptionInput,
)
from awscrt.auth import (
    AwsCredentialsProvider,
    AwsSignedBodyHeaderType,
    AwsSigningConfig,
    aws_sign_request,
)
from awscrt.http import HttpHeaders, HttpRequest
from botocore.eventstream import EventStreamBuffer
from smithy_core.exceptions import CallError, ModeledError

from local.endpoints.eventstream import decode_one
from local.endpoints.signing import ChunkVerifier, RequestSignature, SignatureError, verify_request
from local.endpoints.transcribe_protocol import (
    Refused,
    ResultTrack,
    parse_request,
    tokens,
)
from local.endpoints.transcribe_streaming import EndpointSettings, TranscribeStreamingEndpoint, _Runtime
from local.kit.captures import CAPTURES
from s3_audio_consumer.aws_recognizer import AwsRecognizer, StreamSettings
from s3_audio_consumer.loudness import frame_dbfs
from s3_audio_consumer.recognition import StreamFailed
from s3_audio_consumer.transcribe_sdk import stream_failed, transcribe_client
from shared.languages import LANGUAGES
from tests.local.transcribe_wire import (
    CREDENTIALS,
    REGION,
    RawClient,
    SignedAudio,
    signed_request_headers,
    stream_headers,
)

ENGLISH = LANGUAGES["en"]
WAIT_S = 20.0  # an upper bound on waiting for the endpoint, never a speed requirement
SILENCE_100MS = b"\0\0" * 1600


class ScriptedTranscriber:
    """Says the same sentence for any audio: these tests are about the protocol; the
    VAD that decides when results come is the real one."""

    def __init__(self, text: str = "Good morning, everyone.") -> None:
        self.text = text
        self.calls = 0

    def transcribe(self, pcm: bytes, sample_rate: int, language: Any) -> str:
        self.calls += 1
        return self.text


@pytest.fixture(scope="module")
def welcome_pcm(ffmpeg: str) -> bytes:
    """The first 4 s of a real Chromium capture (two sentences), 16 kHz s16le."""
    webm = b"".join(p.read_bytes() for p in sorted((CAPTURES / "en-welcome").glob("chunk-*.webm")))
    decode = ["-v", "error", "-f", "webm", "-i", "-", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"]
    pcm = subprocess.run([ffmpeg, *decode], input=webm, capture_output=True, check=True).stdout
    return pcm[: 16000 * 2 * 4]


def endpoint(**settings: Any) -> TranscribeStreamingEndpoint:
    defaults: dict[str, Any] = {"partial_clock": "audio", "partial_interval_s": 0.6}
    return TranscribeStreamingEndpoint(EndpointSettings(**{**defaults, **settings}), ScriptedTranscriber)


def sdk_client(running: TranscribeStreamingEndpoint) -> AsyncTranscribeStreamingClient:
    return transcribe_client(REGION, running.base_url, running.ca_file)


async def start(client: AsyncTranscribeStreamingClient, **overrides: Any) -> Any:
    """A stream the service has answered (the SDK hands it back before the answer)."""
    request: dict[str, Any] = {
        "language_code": "en-US",
        "media_sample_rate_hertz": 16000,
        "media_encoding": "pcm",
    }
    stream = await client.start_stream_transcription(
        input=StartStreamTranscriptionInput(**{**request, **overrides})
    )
    await stream.await_output()
    return stream


async def end(stream: Any) -> list[Any]:
    await stream.input_stream.close()
    return [event async for event in stream.output_stream]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the endpoint did not get there"
        time.sleep(0.02)


def decoded(body: bytes) -> list[Any]:
    """The response body as botocore reads an event stream (CRCs checked)."""
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    return list(buffer)


# --- the request -------------------------------------------------------------------------


def test_a_valid_request_is_read_like_the_service() -> None:
    request = parse_request(
        stream_headers(**{"x-amzn-transcribe-enable-partial-results-stabilization": "True"})
    )
    without_level = parse_request(stream_headers(**{"x-amzn-transcribe-partial-results-stability": "low"}))
    plain = parse_request(
        {k: v for k, v in stream_headers().items() if "stabili" not in k},
    )
    assert (request.language_code, request.sample_rate, request.media_encoding) == ("en-US", 16000, "pcm")
    assert request.stability == "high"  # the old amazon-transcribe SDK wrote Python's "True"
    assert without_level.stability == "low"
    assert plain.stability is None
    assert len(request.session_id) == 36


@pytest.mark.parametrize(
    ("header", "value", "member"),
    [
        ("language-code", "xx-XX", "languageCode"),
        ("sample-rate", "7999", "mediaSampleRateHertz"),
        ("sample-rate", "48001", "mediaSampleRateHertz"),
        ("media-encoding", "mp3", "mediaEncoding"),
        ("partial-results-stability", "very", "partialResultsStability"),
        ("enable-partial-results-stabilization", "yes", "enable-partial-results-stabilization"),
        ("session-id", "not-a-uuid", "sessionId"),
    ],
)
def test_a_wrong_header_is_a_bad_request(header: str, value: str, member: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_request(stream_headers(**{f"x-amzn-transcribe-{header}": value}))
    assert (refused.value.status, refused.value.error_type) == (400, "BadRequestException")
    assert member in refused.value.message


@pytest.mark.parametrize(
    ("request_args", "member"),
    [
        ({"language_code": "xx-XX"}, "languageCode"),
        ({"media_sample_rate_hertz": 96000}, "mediaSampleRateHertz"),
        ({"media_encoding": "webm"}, "mediaEncoding"),
        ({"enable_partial_results_stabilization": True, "partial_results_stability": "max"}, "Stability"),
    ],
)
def test_the_sdk_gets_bad_request_for_wrong_headers(request_args: dict[str, Any], member: str) -> None:
    with endpoint() as running, pytest.raises(BadRequestException) as error:
        asyncio.run(start(sdk_client(running), **request_args))
    assert member in error.value.message


def test_what_the_service_takes_but_the_offline_engines_cannot_is_refused_by_name() -> None:
    with endpoint() as running:
        for request_args in (
            {"language_code": "ja-JP"},
            {"media_sample_rate_hertz": 8000},
            {"media_encoding": "flac"},
        ):
            with pytest.raises(BadRequestException) as error:
                asyncio.run(start(sdk_client(running), **request_args))
            assert "local endpoint" in error.value.message


def test_a_request_signed_with_another_secret_is_forbidden() -> None:
    with (
        endpoint(credentials={"testing": "not-the-secret"}) as running,
        pytest.raises(CallError) as error,
    ):
        asyncio.run(start(sdk_client(running)))
    # Not in the service's model: the SDK keeps the status and the error type, not the message.
    assert not isinstance(error.value, ModeledError)
    assert error.value.fault == "client"
    assert "status: 403" in error.value.message
    assert "InvalidSignatureException" in error.value.message
    assert stream_failed(error.value, "start").retryable is False


# --- the stream on the wire ----------------------------------------------------------------


def test_events_on_the_wire_have_the_services_names_and_json(welcome_pcm: bytes) -> None:
    def body(authorization: str) -> Iterator[bytes]:
        audio = SignedAudio(authorization)
        for at in range(0, len(welcome_pcm), 3200):
            yield audio.event(welcome_pcm[at : at + 3200])
        yield audio.end()

    with endpoint() as running:
        client = RawClient(running.base_url, running.ca_file)
        response = client.transcribe(stream_headers(), body)
        client.close()
    assert client.alpn == "h2"
    assert response.status == 200
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert {"x-amzn-request-id", "x-amzn-transcribe-session-id"} <= set(response.headers)
    assert response.headers["x-amzn-transcribe-partial-results-stability"] == "high"
    messages = decoded(response.body)
    assert messages, "no event came back"
    results = []
    for message in messages:
        assert message.headers == {
            ":message-type": "event",
            ":event-type": "TranscriptEvent",
            ":content-type": "application/json",
        }
        body_json = json.loads(message.payload)
        assert set(body_json) == {"Transcript"} and set(body_json["Transcript"]) == {"Results"}
        results += body_json["Transcript"]["Results"]
    for result in results:
        assert set(result) == {"ResultId", "StartTime", "EndTime", "IsPartial", "Alternatives"}
        (alternative,) = result["Alternatives"]
        assert set(alternative) == {"Transcript", "Items"}
        for item in alternative["Items"]:
            assert set(item) == {"Content", "StartTime", "EndTime", "Type", "VocabularyFilterMatch", "Stable"}
            assert item["Type"] in ("pronunciation", "punctuation")
            assert result["StartTime"] <= item["StartTime"] <= item["EndTime"] <= result["EndTime"]
    finals = [r for r in results if not r["IsPartial"]]
    partials = [r for r in results if r["IsPartial"]]
    assert len(finals) == 2  # the two sentences: one final at each pause
    assert {r["ResultId"] for r in partials} <= {r["ResultId"] for r in finals}
    assert finals[0]["EndTime"] < finals[1]["StartTime"]


def test_a_chunk_with_a_wrong_signature_ends_the_stream_with_an_exception(welcome_pcm: bytes) -> None:
    def body(authorization: str) -> Iterator[bytes]:
        audio = SignedAudio(authorization)
        yield audio.event(welcome_pcm[:3200])
        yield audio.forged(welcome_pcm[3200:6400], bytes(3200))
        yield audio.end()

    with endpoint() as running:
        client = RawClient(running.base_url, running.ca_file)
        response = client.transcribe(stream_headers(), body)
        client.close()
    (message,) = decoded(response.body)
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "BadRequestException"
    assert "signature" in json.loads(message.payload)["Message"]


def test_health_answers_over_h2() -> None:
    with endpoint() as running:
        client = RawClient(running.base_url, running.ca_file)
        response = client.get("/healthz")
        client.close()
    assert (response.status, response.body) == (200, b"ok")
    assert running.base_url.startswith("https://127.0.0.1:")


# --- signatures ------------------------------------------------------------------------------


def test_chunk_signatures_chain_from_the_request_signature() -> None:
    headers = signed_request_headers(stream_headers())
    request = RequestSignature.parse(headers["authorization"])
    audio = SignedAudio(headers["authorization"])
    verifier = ChunkVerifier(request, CREDENTIALS)
    for n in range(30):  # many dates, so that the milliseconds of `:date` vary
        verifier.verify(decode_one(audio.event(bytes([n]) * 320)))
        time.sleep(0.001)
    replayed = decode_one(audio.event(b"\1" * 320))
    verifier.verify(replayed)
    with pytest.raises(SignatureError):
        verifier.verify(replayed)  # its signature chains to the previous chunk, not to itself


def test_a_request_signed_over_a_streaming_body_hash_is_checked_with_it() -> None:
    """aws-sdk-transcribe-streaming signs `x-amz-content-sha256` (the event-stream
    marker); the old amazon-transcribe signed the empty body's hash without the header."""
    unsigned = HttpHeaders([("host", "127.0.0.1"), *stream_headers().items()])
    config = AwsSigningConfig(
        credentials_provider=AwsCredentialsProvider.new_static("testing", "testing"),
        region=REGION,
        service="transcribe",
        signed_body_value="STREAMING-AWS4-HMAC-SHA256-EVENTS",
        signed_body_header_type=AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
    )
    signed = aws_sign_request(HttpRequest("POST", "/stream-transcription", unsigned), config).result()
    headers = {name.lower(): value for name, value in signed.headers}
    verify_request("POST", "/stream-transcription", headers, {"testing": "testing"})
    with pytest.raises(SignatureError):
        verify_request(
            "POST",
            "/stream-transcription",
            {**headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
            {"testing": "testing"},
        )


# --- results and stabilization ------------------------------------------------------------------


def test_marks_are_items_of_their_own_and_ellipses_are_dropped() -> None:
    assert [(t.content, t.punctuation) for t in tokens("¿Hola, amigo? Welcome to the...")] == [
        ("¿", True),
        ("Hola", False),
        (",", True),
        ("amigo", False),
        ("?", True),
        ("Welcome", False),
        ("to", False),
        ("the", False),
    ]


def _items(result: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = result["Alternatives"][0]["Items"]
    return items


def test_stable_words_never_change_and_the_last_word_is_never_stable() -> None:
    track = ResultTrack(0.4, "high")
    hypotheses = [
        "Welcome to",
        "Welcome to the",
        "Welcome to the confer",
        "Welcome to a conference, today",  # changes a word already stable: it stays as it was
        "Welcome to the conference. Today we",
    ]
    results = [track.partial(text, 1.0 + n) for n, text in enumerate(hypotheses)]
    final = track.final("Welcome to a conference. Today we will talk.", 6.5)
    sent_stable: list[tuple[int, str, float]] = []
    for result in [*results, final]:
        items = _items(result)
        for position, content, start in sent_stable:
            assert (items[position]["Content"], items[position]["StartTime"]) == (content, start)
        spoken = [n for n, item in enumerate(items) if item["Type"] == "pronunciation"]
        if result["IsPartial"] and spoken:
            assert not items[spoken[-1]]["Stable"]
        sent_stable = [(n, i["Content"], i["StartTime"]) for n, i in enumerate(items) if i["Stable"]]
    assert [i["Content"] for i in _items(results[1]) if i["Stable"]] == ["Welcome", "to"]
    assert final["Alternatives"][0]["Transcript"] == "Welcome to the conference. Today we will talk."
    assert all(item["Stable"] for item in _items(final))
    assert {r["ResultId"] for r in [*results, final]} == {track.result_id}


def test_without_stabilization_items_carry_no_stable_flag() -> None:
    track = ResultTrack(0.0, None)
    partial = track.partial("Hello there", 1.0)
    assert all("Stable" not in item for item in _items(partial))
    assert partial["Alternatives"][0]["Transcript"] == "Hello there"


# --- through the production adapter --------------------------------------------------------------


def recognizer(running: TranscribeStreamingEndpoint) -> AwsRecognizer:
    return AwsRecognizer(lambda: sdk_client(running), StreamSettings())


def test_the_production_adapter_gets_partials_and_finals(welcome_pcm: bytes) -> None:
    with endpoint() as running:
        stream = recognizer(running).start(ENGLISH, 16000)
        stream.send(welcome_pcm)
        results = stream.close(WAIT_S)
    finals = [r for r in results if not r.is_partial]
    partials = [r for r in results if r.is_partial]
    assert [r.text for r in finals] == ["Good morning, everyone."] * 2
    assert partials and all(r.words for r in partials)
    assert any(w.stable for r in partials for w in r.words)
    assert all(w.stable for r in finals for w in r.words)


def test_the_pause_guess_waits_for_the_audio_to_be_quiet_not_only_for_results(welcome_pcm: bytes) -> None:
    """The results come after the words: a new sentence's first half second has no result
    yet. The adapter's pause guess must not take it for a pause (a handover there cuts a word)."""
    frames = range(0, len(welcome_pcm), 3200)
    speech_at = next(at for at in frames if frame_dbfs(welcome_pcm[at : at + 3200]) > -35)
    with endpoint() as running:
        stream = recognizer(running).start(ENGLISH, 16000)
        stream.send(welcome_pcm + SILENCE_100MS * 15)
        finals = 0
        deadline = time.monotonic() + WAIT_S
        while finals < 2 and time.monotonic() < deadline:
            finals += sum(not r.is_partial for r in stream.results())
            time.sleep(0.01)
        in_pause = stream.at_pause()
        stream.send(welcome_pcm[speech_at : speech_at + 16000])  # a new sentence's first 0.5 s
        after_new_speech = stream.at_pause()
        stream.close(WAIT_S)
    assert finals == 2
    assert (in_pause, after_new_speech) == (True, False)


def test_aws_timing_holds_the_start_and_every_result_back_from_its_audio(welcome_pcm: bytes) -> None:
    """Lower bounds only: the endpoint may be slower than AWS, never faster."""
    with endpoint(start_delay_s=0.4, result_lag_s=0.8) as running:
        asked = time.monotonic()
        stream = recognizer(running).start(ENGLISH, 16000)
        started = time.monotonic()
        stream.send(welcome_pcm)  # all the audio arrives now
        sent = time.monotonic()
        received: list[float] = []
        deadline = sent + WAIT_S
        while len(received) < 2 and time.monotonic() < deadline:
            received += [time.monotonic() for _ in stream.results()]
            time.sleep(0.01)
        stream.close(WAIT_S)
    assert started - asked >= 0.4
    assert received and min(received) - sent >= 0.8


class SlowTranscriber(ScriptedTranscriber):
    """Takes `seconds` of a fake clock per call, as Whisper takes time on a busy machine."""

    def __init__(self, clock: list[float], seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def transcribe(self, pcm: bytes, sample_rate: int, language: Any) -> str:
        self.clock[0] += self.seconds
        return super().transcribe(pcm, sample_rate, language)


def test_partials_take_at_most_their_share_of_the_transcription_thread_and_finals_are_never_held() -> None:
    now = [100.0]
    slow = SlowTranscriber(now, seconds=1.0)
    runtime = _Runtime(EndpointSettings(partial_cpu_share=0.25), lambda: slow, clock=lambda: now[0])

    async def scenario() -> list[bool]:
        allowed = [runtime.partial_allowed()]
        await runtime.transcribe(b"\1\0" * 1600, ENGLISH, partial=True)  # 100 -> 101
        allowed.append(runtime.partial_allowed())
        now[0] += 2.9  # 1 s of partial at a 25 % share: none for the next 3 s
        allowed.append(runtime.partial_allowed())
        await runtime.transcribe(b"\1\0" * 1600, ENGLISH, partial=False)  # a final: runs, holds nothing
        allowed.append(runtime.partial_allowed())
        return allowed

    try:
        assert asyncio.run(scenario()) == [True, False, False, True]
        assert slow.calls == 2
    finally:
        runtime.close()


def test_the_limits_default_to_the_services_quotas() -> None:
    settings = EndpointSettings()
    assert settings.max_streams == 25
    assert settings.no_audio_timeout_s == 15.0
    assert settings.max_stream_s == 4 * 3600


def test_25_streams_are_taken_and_the_26th_is_refused() -> None:
    async def scenario(running: TranscribeStreamingEndpoint) -> tuple[int, str, int]:
        client = sdk_client(running)
        streams = await asyncio.gather(*(start(client) for _ in range(25)))
        with pytest.raises(LimitExceededException) as refused:
            await start(client)
        await end(streams[0])
        await asyncio.to_thread(wait_until, lambda: running.active_streams == 24)
        streams[0] = await start(client)  # a slot freed is a slot taken again
        open_now = running.active_streams
        await asyncio.gather(*(end(stream) for stream in streams))
        return len(streams), refused.value.message, open_now

    with endpoint() as running:
        opened, message, open_now = asyncio.run(scenario(running))
        wait_until(lambda: running.active_streams == 0)
    assert (opened, open_now) == (25, 25)
    assert message == "You have reached your limit of concurrent streams, 25. Try again later."


def test_no_audio_for_the_timeout_ends_the_stream_with_bad_request() -> None:
    with endpoint(no_audio_timeout_s=0.5) as running:
        stream = recognizer(running).start(ENGLISH, 16000)
        with pytest.raises(StreamFailed) as failed:
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                stream.results()
                time.sleep(0.05)
        stream.close(WAIT_S)
    assert not failed.value.retryable
    assert "BadRequestException" in str(failed.value)
    assert "no new audio was received for 0.5 seconds" in str(failed.value)


def test_audio_keeps_a_stream_alive_past_the_timeout() -> None:
    with endpoint(no_audio_timeout_s=0.5) as running:
        stream = recognizer(running).start(ENGLISH, 16000)
        for _ in range(15):  # 1.5 s of silence, sent as it would be spoken
            stream.send(SILENCE_100MS)
            time.sleep(0.1)
            stream.results()
        assert stream.close(WAIT_S) == []


def test_a_stream_past_its_longest_duration_ends_with_limit_exceeded() -> None:
    with endpoint(max_stream_s=0.5) as running:
        stream = recognizer(running).start(ENGLISH, 16000)
        with pytest.raises(StreamFailed) as failed:
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                stream.send(SILENCE_100MS)
                time.sleep(0.1)
        stream.close(WAIT_S)
    assert failed.value.retryable
    assert "LimitExceededException" in str(failed.value)
