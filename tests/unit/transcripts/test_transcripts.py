"""Transcripts people can take home: the utterance records the processor keeps, the files
built from them (read back with independent SRT and WebVTT parsers), and who may have which."""

from __future__ import annotations

import html
import io
from datetime import timedelta

import boto3
import pytest
import requests
import srt
import webvtt
from moto import mock_aws

from connection_handler.limits import Limits
from local.kit.aws_fakes import FakeManagementApi, create_tables
from shared.transcript_records import UtteranceRecord
from shared.translation_bucket import S3UtteranceRecords
from tests.unit.ws_harness import Gateway
from transcripts import service as transcripts
from transcripts import wiring
from transcripts.service import lines_in, subtitles

BUCKET = "translations-test"
SESSION = "steady-river-1234"
SAID = [  # (start ms, duration ms, English, Spanish)
    (480, 2100, "Good morning everyone.", "Buenos días a todos."),
    (2900, 1800, "Welcome to the conference!", "¡Bienvenidos a la conferencia!"),
    (
        5200,
        4300,
        "Today we talk about {live} <b>translation</b> & more.",
        "Hoy hablamos de {traducción} <b> & más.",
    ),
    (3_725_000, 2500, "An hour later.", None),  # not delivered in Spanish (no clip was made)
]


def records() -> list[UtteranceRecord]:
    return [
        UtteranceRecord(SESSION, index, start, duration, "en", english, {"es": spanish} if spanish else {})
        for index, (start, duration, english, spanish) in enumerate(SAID)
    ]


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_srt_and_webvtt_parse_with_real_parsers_and_keep_the_talks_times():
    lines = lines_in(records(), "es")

    cues = list(srt.parse(subtitles(lines, "srt")))
    vtt_text = subtitles(lines, "vtt")
    vtt = webvtt.from_buffer(io.StringIO(vtt_text))
    assert "{traducción} &lt;b&gt; &amp; más." in vtt_text  # cue text is markup in WebVTT: escaped

    assert [c.content for c in cues] == [s for *_, s in SAID if s]  # braces kept as text, not markup
    assert [(c.start, c.end) for c in cues] == [
        (timedelta(milliseconds=start), timedelta(milliseconds=start + duration))
        for start, duration, _, spanish in SAID
        if spanish
    ]
    assert [html.unescape(c.text) for c in vtt] == [c.content for c in cues]
    assert [c.start for c in vtt] == ["00:00:00.480", "00:00:02.900", "00:00:05.200"]
    starts = [c.start for c in cues]
    assert starts == sorted(starts)


def test_the_source_language_transcript_has_every_utterance_with_hour_timestamps():
    lines = lines_in(records(), "en")
    cues = list(srt.parse(subtitles(lines, "srt")))
    assert len(cues) == 4
    assert cues[-1].start == timedelta(milliseconds=3_725_000)
    assert srt.timedelta_to_srt_timestamp(cues[-1].start) == "01:02:05,000"


def test_records_out_of_order_still_give_monotonic_cues():
    shuffled = list(reversed(records()))
    starts = [line.start_ms for line in lines_in(shuffled, "en")]
    assert starts == sorted(starts)


def test_the_service_stores_three_files_and_answers_with_presigned_urls(s3):
    store = S3UtteranceRecords(s3, BUCKET)
    for record in reversed(records()):  # parallel invocations write in any order
        store.put(record)
    api = FakeManagementApi()
    runtime = wiring.build_transcripts_runtime(s3, api, BUCKET, 600)

    request = transcripts.TranscriptRequest.model_validate(
        {"sessionId": SESSION, "language": "es", "connectionId": "lis-1"}
    )
    message = transcripts.answer(runtime.service, request)

    assert message["type"] == "transcriptReady"
    assert (message["sessionId"], message["language"], message["utterances"]) == (SESSION, "es", 3)
    assert set(message["urls"]) == {"txt", "srt", "vtt"}
    text = requests.get(message["urls"]["txt"], timeout=10).text
    assert "[00:00:00] Buenos días a todos." in text.splitlines()
    assert "An hour later" not in text
    body = requests.get(message["urls"]["srt"], timeout=10)
    assert body.headers["Content-Disposition"] == f'attachment; filename="{SESSION}-es.srt"'
    assert len(list(srt.parse(body.text))) == 3
    keys = {
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"sessions/{SESSION}/transcripts/")["Contents"]
    }
    assert keys == {f"sessions/{SESSION}/transcripts/es.{ext}" for ext in ("txt", "srt", "vtt")}


def test_a_language_nothing_was_said_in_gets_a_clear_error(s3):
    S3UtteranceRecords(s3, BUCKET).put(records()[0])
    runtime = wiring.build_transcripts_runtime(s3, FakeManagementApi(), BUCKET, 600)
    request = transcripts.TranscriptRequest.model_validate(
        {"sessionId": SESSION, "language": "fr", "connectionId": "lis-1"}
    )
    message = transcripts.answer(runtime.service, request)
    assert (message["type"], message["code"], message["action"]) == (
        "error",
        "NO_TRANSCRIPT",
        "getTranscript",
    )


@pytest.fixture
def gateway():
    with mock_aws():
        sessions, connections = create_tables(boto3.resource("dynamodb", region_name="us-east-1"))
        yield Gateway(sessions, connections)


def join(gateway: Gateway, connection_id: str, session_id: str, language: str) -> None:
    gateway.connect(connection_id)
    gateway.send(
        connection_id, {"action": "joinSession", "sessionId": session_id, "targetLanguage": language}
    )
    assert gateway.last(connection_id)["type"] == "sessionJoined"


def ask(gateway: Gateway, connection_id: str, session_id: str, language: str) -> dict | None:
    before = len(gateway.api.to(connection_id))
    gateway.send(connection_id, {"action": "getTranscript", "sessionId": session_id, "language": language})
    after = gateway.api.to(connection_id)
    return after[-1] if len(after) > before else None


def test_a_listener_has_their_own_languages_transcript_and_no_other(gateway):
    mine = gateway.start_session("spk-1")
    other = gateway.start_session("spk-2")
    join(gateway, "lis-1", mine, "es")

    assert ask(gateway, "lis-1", mine, "es") is None  # asked of the transcripts function, which answers
    assert gateway.transcript_requests == [{"sessionId": mine, "language": "es", "connectionId": "lis-1"}]
    refused_other_session = ask(gateway, "lis-1", other, "es")
    refused_other_language = ask(gateway, "lis-1", mine, "fr")
    unknown = ask(gateway, "lis-1", "quiet-harbor-9999", "es")

    assert refused_other_session["code"] == "SESSION_NOT_FOUND"  # as an unknown one: no oracle
    assert refused_other_language["code"] == "FORBIDDEN"
    assert unknown["code"] == "SESSION_NOT_FOUND"
    assert len(gateway.transcript_requests) == 1


def test_the_speaker_has_every_language_during_and_after_the_session(gateway):
    session = gateway.start_session("spk-1")
    assert ask(gateway, "spk-1", session, "en") is None
    gateway.send("spk-1", {"action": "endSession", "sessionId": session})
    assert ask(gateway, "spk-1", session, "fr") is None  # after the end, too
    assert [r["language"] for r in gateway.transcript_requests] == ["en", "fr"]
    bad = ask(gateway, "spk-1", session, "xx")
    assert bad["type"] == "error"
    assert bad["code"] in {"UNSUPPORTED_LANGUAGE", "INVALID_MESSAGE"}


def test_another_speaker_cannot_have_a_sessions_transcript(gateway):
    session = gateway.start_session("spk-1")
    gateway.sessions_table.update_item(
        Key={"sessionId": session},
        UpdateExpression="SET speakerUserId = :u",
        ExpressionAttributeValues={":u": "someone-else"},
    )
    refused = ask(gateway, "spk-1", session, "en")
    assert refused["code"] == "SESSION_NOT_FOUND"
    assert gateway.transcript_requests == []


def test_asking_again_and_again_is_rate_limited_per_connection_and_clears_after_a_minute(gateway):
    session = gateway.start_session("spk-1")
    join(gateway, "lis-1", session, "es")
    answers = [ask(gateway, "lis-1", session, "es") for _ in range(8)]
    assert answers[:6] == [None] * 6  # passed on to the transcripts function
    assert [a["code"] for a in answers[6:]] == ["RATE_LIMITED", "RATE_LIMITED"]
    assert len(gateway.transcript_requests) == 6
    assert ask(gateway, "spk-1", session, "es") is None  # another connection is not held back
    gateway.now += 60
    assert ask(gateway, "lis-1", session, "es") is None


class CountingFiles:
    """The S3 file store, counting builds (a build writes the three files)."""

    def __init__(self, files) -> None:
        self._files = files
        self.puts = 0

    def __getattr__(self, name):
        return getattr(self._files, name)

    def put_file(self, *args, **kwargs):
        self.puts += 1
        return self._files.put_file(*args, **kwargs)


def test_a_thousand_requests_in_a_minute_for_one_session_build_at_most_twice(s3):
    """Utterances keep arriving (one every 3 s) while 1,000 listeners ask in one minute:
    a build is reused for TRANSCRIPT_REUSE_SECONDS, and the session's limit passes at
    most transcripts_per_session_per_minute requests on to the function."""
    records_store = S3UtteranceRecords(s3, BUCKET)
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    gw = Gateway(*create_tables(dynamodb), limits=Limits(transcripts_per_ip_per_minute=5000))
    session = gw.start_session("spk-1")
    runtime = wiring.build_transcripts_runtime(s3, FakeManagementApi(), BUCKET, 600)
    files = CountingFiles(runtime.service.files)
    service = transcripts.TranscriptService(records_store, files, 600, lambda: gw.now)
    answers = []
    gw.runtime.service.ports.transcripts = lambda payload: answers.append(
        transcripts.answer(service, transcripts.TranscriptRequest.model_validate(payload))
    )
    for n in range(200):
        gw.connect(f"lis-{n}")
        gw.send(f"lis-{n}", {"action": "joinSession", "sessionId": session, "targetLanguage": "es"})
    start, refused = gw.now, 0
    for n in range(1000):
        gw.now = start + n * 0.06
        if n % 50 == 0:
            index = n // 50
            records_store.put(
                UtteranceRecord(session, index, index * 3000, 2000, "en", "Hi.", {"es": "Hola."})
            )
        refusal = ask(gateway=gw, connection_id=f"lis-{n % 200}", session_id=session, language="es")
        if refusal is not None:
            assert refusal["code"] == "RATE_LIMITED"
            assert refusal["message"] == "too many transcript requests from this session; wait a minute"
            refused += 1
    assert files.puts == 2 * 3  # two builds of three files: at 0 s and at 30 s
    assert refused == 1000 - Limits().transcripts_per_session_per_minute
    assert {a["type"] for a in answers} == {"transcriptReady"} and len(answers) == 600
    assert answers[-1]["utterances"] == 11  # the build at 30 s: what had been said by then


def test_a_build_is_reused_while_no_utterance_arrives_and_rebuilt_after_one(s3):
    store = S3UtteranceRecords(s3, BUCKET)
    store.put(records()[0])
    runtime = wiring.build_transcripts_runtime(s3, FakeManagementApi(), BUCKET, 600)
    files = CountingFiles(runtime.service.files)
    now = [1_800_000_000.0]
    service = transcripts.TranscriptService(store, files, 600, lambda: now[0])
    assert service.prepare(SESSION, "en").utterances == 1
    now[0] += 3600  # long after the reuse time, but nothing new was said
    assert service.prepare(SESSION, "en").utterances == 1
    assert files.puts == 3
    store.put(records()[1])
    assert service.prepare(SESSION, "en").utterances == 2
    assert files.puts == 6


@pytest.mark.parametrize(
    "bad",
    [
        {"sessionId": "x/../y", "language": "es", "connectionId": "c1"},
        {"sessionId": SESSION, "language": "x/../y", "connectionId": "c1"},
        {"sessionId": SESSION, "language": "xx", "connectionId": "c1"},
        {"sessionId": SESSION, "language": "es", "connectionId": "c/1"},
        {"sessionId": SESSION, "language": "es", "connectionId": "c1", "extra": 1},
    ],
)
def test_a_transcript_request_is_validated_like_every_contract(bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        transcripts.TranscriptRequest.model_validate(bad)
    from transcripts import handler as transcript_handler

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "transcripts-test", 512, "req"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:transcripts-test"

    assert transcript_handler.lambda_handler(bad, Context(), runtime=object())["outcome"] == "invalid"


def test_every_language_has_a_heading_in_itself():
    from shared.languages import LANGUAGES
    from transcripts.service import HEADINGS, heading

    assert set(HEADINGS) == set(LANGUAGES)
    assert heading("calm-river-0001", "es") == "Transcripción de la sesión calm-river-0001 (Español)"
    assert heading("calm-river-0001", "ja") == "セッション calm-river-0001 の文字起こし\uff08日本語\uff09"
    assert all("{session}" in template and "{language}" in template for template in HEADINGS.values())
