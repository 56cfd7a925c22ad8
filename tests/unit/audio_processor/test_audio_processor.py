"""audio_processor end to end over moto and SDK-boundary fakes, fed utterances on the
timeline of a real browser capture (its 3 s pieces give the times)."""

from __future__ import annotations

import io
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import boto3
import numpy as np
import pytest
import requests
from moto import mock_aws

from audio_processor.retry import Deadline
from local.kit.captures import BYTES_PER_MS, capture
from local.kit.processor import BUCKET, SESSION, SPEAKER, Processor, encode_mp3
from shared import resources
from shared.audio_unit import UtteranceUnit
from shared.languages import LANGUAGES

CAPTURE = capture("en-welcome")
PIECE_MS = 3000
HELLO = "Good morning everyone."
WELCOME = "Welcome to the conference."
SOURCE_TEXT = f"{HELLO} {WELCOME}"
SPANISH = "Buenos días a todos. Bienvenidos a la conferencia."
FRENCH = "Bonjour à tous. Bienvenue à la conférence."


@dataclass(frozen=True)
class Stretch:
    """Where an utterance was heard in the talk: the place of one of its 3 s pieces."""

    index: int
    start_ms: int
    duration_ms: int


@pytest.fixture(scope="module")
def batches() -> list[Stretch]:
    pieces = CAPTURE.pieces(PIECE_MS)
    return [Stretch(n, n * PIECE_MS, len(piece) // BYTES_PER_MS) for n, piece in enumerate(pieces)]


@pytest.fixture(scope="module")
def mp3(ffmpeg) -> bytes:
    return encode_mp3(ffmpeg, CAPTURE.pcm[16000:64000])  # 1.5 s of recorded speech


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def processor(aws) -> Processor:
    return Processor(aws)


def said(batch, text: str) -> dict:
    """The worker's payload for an utterance heard over `batch`'s stretch of the talk."""
    unit = UtteranceUnit(
        session_id=SESSION,
        index=batch.index,
        start_ms=batch.start_ms,
        duration_ms=batch.duration_ms,
        source_language="en",
        text=text,
    )
    return unit.payload()


def types_to(processor: Processor, connection_id: str) -> list[str]:
    return [message["type"] for message in processor.api.to(connection_id)]


def first_payload(batches, text: str = SOURCE_TEXT) -> dict:
    return said(batches[0], text)


def test_two_languages_with_listeners_get_clips_and_a_third_gets_nothing(processor, batches, mp3):
    processor.listen("es-1", "es")
    processor.listen("es-2", "es")
    processor.listen("fr-1", "fr")
    processor.expect_translation(SOURCE_TEXT, "es", SPANISH)
    processor.expect_speech(SPANISH, "Lucia", "neural", mp3)
    processor.expect_translation(SOURCE_TEXT, "fr", FRENCH)
    processor.expect_speech(FRENCH, "Lea", "neural", mp3)

    report = processor.invoke(first_payload(batches))

    assert report["outcome"] == "delivered"
    assert report["languages"] == ["es", "fr"]
    assert report["clips"] == 2
    processor.translate.assert_no_pending_responses()
    processor.polly.assert_no_pending_responses()
    assert sorted(processor.clip_keys()) == [
        resources.translated_clip_key(SESSION, "es", 0),
        resources.translated_clip_key(SESSION, "fr", 0),
    ]  # no German clip: German has no listener
    for connection_id, text in (("es-1", SPANISH), ("es-2", SPANISH), ("fr-1", FRENCH)):
        caption, voice = processor.api.to(connection_id)  # the caption first, then its voice
        assert (caption["type"], voice["type"]) == ("translatedText", "translatedAudio")
        for message in (caption, voice):
            assert (message["text"], message["sourceText"], message["index"]) == (text, SOURCE_TEXT, 0)
    (transcript,) = processor.api.to(SPEAKER)
    assert transcript == {
        "type": "transcript",
        "sessionId": SESSION,
        "index": 0,
        "text": SOURCE_TEXT,
        "startMs": 0,
        "durationMs": 3000,
    }


def test_translated_audio_message_fields_and_a_url_that_serves_the_mp3(processor, batches, mp3, ffmpeg):
    processor.listen("es-1", "es")
    processor.expect_translation(SOURCE_TEXT, "es", SPANISH)
    processor.expect_speech(SPANISH, "Lucia", "neural", mp3)
    batch = batches[1]

    processor.invoke(said(batch, SOURCE_TEXT))

    caption, message = processor.api.to("es-1")
    assert set(caption) == {
        "type", "sessionId", "language", "index", "text", "sourceText", "startMs", "durationMs",
    }  # fmt: skip
    assert caption == {key: message[key] for key in caption if key != "type"} | {"type": "translatedText"}
    assert set(message) == {
        "type", "sessionId", "language", "index", "url", "expiresAt",
        "text", "sourceText", "startMs", "durationMs", "clipMs",
    }  # fmt: skip
    assert (message["sessionId"], message["language"], message["index"]) == (SESSION, "es", 1)
    assert (message["startMs"], message["durationMs"]) == (batch.start_ms, batch.duration_ms)
    url = urlparse(message["url"])
    assert url.path.endswith(resources.translated_clip_key(SESSION, "es", 1))
    assert parse_qs(url.query)["X-Amz-Expires"] == ["600"]
    assert 590 <= message["expiresAt"] - time.time() <= 600

    body = requests.get(message["url"], timeout=10).content
    assert body == processor.clip("es", 1)  # the fitted clip: trimmed, so not Polly's bytes
    decoded = subprocess.run(
        [ffmpeg, "-v", "error", "-i", "-", "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
        input=body, capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = np.frombuffer(decoded, dtype=np.int16)
    # The 1.5 s Polly clip with its quiet ends trimmed; clipMs says how long it plays.
    assert 1.0 < len(samples) / 16000 < 1.6
    assert abs(len(samples) / 16 - message["clipMs"]) < 100
    assert np.abs(samples).max() > 1000  # speech, not silence


def test_a_listener_in_the_source_language_hears_the_source_text_untranslated(processor, batches, mp3):
    processor.listen("en-1", "en")
    processor.expect_speech(SOURCE_TEXT, "Joanna", "neural", mp3)  # and no Translate call at all

    report = processor.invoke(first_payload(batches))

    assert report["clips"] == 1
    processor.polly.assert_no_pending_responses()
    for message in processor.api.to("en-1"):
        assert message["text"] == message["sourceText"] == SOURCE_TEXT


def test_a_blank_utterance_makes_no_clip_and_no_error(processor, batches):
    processor.listen("es-1", "es")

    report = processor.invoke(said(batches[4], "   "))

    assert report["outcome"] == "empty"
    assert processor.api.sent == []
    assert processor.clip_keys() == []


def test_throttling_is_retried_with_backoff_then_delivered(processor, batches, mp3):
    processor.listen("es-1", "es")
    processor.translate.add_client_error("translate_text", "ThrottlingException", "Rate exceeded", 400)
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    processor.polly.add_client_error("synthesize_speech", "ServiceFailureException", "boom", 500)
    processor.expect_speech("Buenos días a todos.", "Lucia", "neural", mp3)

    report = processor.invoke(first_payload(batches, HELLO))

    assert report["outcome"] == "delivered"
    assert report["retries"] == 2
    assert len(processor.sleeps) == 2 and all(0 < s <= 2 for s in processor.sleeps)
    assert types_to(processor, "es-1") == ["translatedText", "translatedAudio"]


def test_one_language_failing_does_not_stop_the_others(processor, batches, mp3):
    processor.listen("es-1", "es")
    processor.listen("fr-1", "fr")
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    processor.expect_speech("Buenos días a todos.", "Lucia", "neural", mp3)
    for _ in range(5):  # every attempt throttled: French is given up for this batch
        processor.translate.add_client_error("translate_text", "ThrottlingException", "Rate exceeded", 400)

    report = processor.invoke(first_payload(batches, HELLO))

    assert report["failedLanguages"] == ["fr"]
    assert types_to(processor, "es-1") == ["translatedText", "translatedAudio"]
    (error,) = processor.api.to("fr-1")
    assert error["type"] == "error"
    assert error["code"] == "TRANSLATION_UNAVAILABLE"
    assert (error["language"], error["index"], error["sessionId"]) == ("fr", 0, SESSION)
    assert processor.clip_keys() == [resources.translated_clip_key(SESSION, "es", 0)]


def test_a_request_that_cannot_succeed_is_not_retried(processor, batches):
    processor.listen("fr-1", "fr")
    processor.translate.add_client_error("translate_text", "UnsupportedLanguagePairException", "no", 400)

    report = processor.invoke(first_payload(batches, HELLO))

    assert report["failedLanguages"] == ["fr"]
    assert report["retries"] == 0
    assert processor.api.to("fr-1")[0]["code"] == "TRANSLATION_UNAVAILABLE"


def test_a_vanished_listener_is_removed_and_the_speaker_sees_new_counts(processor, batches, mp3):
    processor.listen("es-1", "es")
    processor.listen("es-gone", "es")
    processor.api.gone.add("es-gone")
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    processor.expect_speech("Buenos días a todos.", "Lucia", "neural", mp3)

    report = processor.invoke(first_payload(batches, HELLO))

    assert report["listenersRemoved"] == 1
    assert "Item" not in processor.connections.get_item(Key={"connectionId": "es-gone"})
    assert "Item" in processor.connections.get_item(Key={"connectionId": "es-1"})
    stats = [m for m in processor.api.to(SPEAKER) if m["type"] == "listenerStats"]
    assert stats == [{"type": "listenerStats", "sessionId": SESSION, "listeners": {"es": 1}, "total": 1}]


def test_a_duplicate_invocation_delivers_nothing_new(processor, batches, mp3):
    processor.listen("es-1", "es")
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    processor.expect_speech("Buenos días a todos.", "Lucia", "neural", mp3)
    payload = first_payload(batches, HELLO)

    processor.invoke(payload)
    sent = list(processor.api.sent)
    again = processor.invoke(payload)  # no scripted responses left: any call would fail

    assert again["outcome"] == "duplicate"
    assert processor.api.sent == sent


def test_a_retry_after_a_crash_does_not_resend_what_was_delivered(processor, batches, mp3):
    """Powertools forgets a failed invocation; the delivery ledger still remembers."""
    processor.listen("es-1", "es")
    for _ in range(2):
        processor.expect_translation(HELLO, "es", "Buenos días a todos.")
        processor.expect_speech("Buenos días a todos.", "Lucia", "neural", mp3)
    unit = UtteranceUnit.model_validate(first_payload(batches, HELLO))
    pipeline = processor.pipeline

    first = pipeline.process(unit, Deadline(lambda: 60.0))
    second = pipeline.process(unit, Deadline(lambda: 60.0))

    assert (first.clips, second.clips) == (1, 0)
    assert second.already_delivered == ["es"]
    assert types_to(processor, "es-1") == ["translatedText", "translatedAudio"]
    assert len(processor.api.to(SPEAKER)) == 1


def test_when_the_voice_cannot_be_made_the_caption_still_reaches_its_listeners(processor, batches):
    """Captions-only listeners lose nothing to a Polly failure; the transcript keeps the line."""
    processor.listen("es-1", "es")
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    processor.polly.add_client_error("synthesize_speech", "InvalidSsmlException", "no", 400)

    report = processor.invoke(first_payload(batches, HELLO))

    caption, error = processor.api.to("es-1")
    assert (caption["type"], caption["text"]) == ("translatedText", "Buenos días a todos.")
    assert (error["code"], error["index"], error["language"]) == ("TRANSLATION_UNAVAILABLE", 0, "es")
    assert report["failedLanguages"] == ["es"] and report["clips"] == 0
    record = processor.s3.get_object(Bucket=BUCKET, Key=resources.utterance_record_key(SESSION, 0))
    assert b"Buenos d" in record["Body"].read()


def test_a_retry_after_the_caption_went_out_sends_the_voice_only(processor, batches, mp3):
    processor.listen("es-1", "es")
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    processor.polly.add_client_error("synthesize_speech", "InvalidSsmlException", "no", 400)
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    processor.expect_speech("Buenos días a todos.", "Lucia", "neural", mp3)
    unit = UtteranceUnit.model_validate(first_payload(batches, HELLO))

    processor.pipeline.process(unit, Deadline(lambda: 60.0))
    retried = processor.pipeline.process(unit, Deadline(lambda: 60.0))

    assert retried.clips == 1
    assert types_to(processor, "es-1") == ["translatedText", "error", "translatedAudio"]


def test_synthesis_starts_while_the_caption_is_posted_and_the_voice_never_overtakes_it(aws, batches, mp3):
    """A large audience's caption takes a while to post; the clip is made meanwhile, and
    sent only once every listener has its caption."""
    processor = Processor(aws)
    processor.listen("es-1", "es")
    processor.expect_translation(HELLO, "es", "Buenos días a todos.")
    synthesizing = threading.Event()
    processor.polly.deactivate()

    def synthesize(**request):
        synthesizing.set()
        return {"AudioStream": io.BytesIO(mp3)}

    processor.polly_client.synthesize_speech = synthesize
    post = processor.api.post_to_connection
    overlapped: list[bool] = []

    def slow_post(ConnectionId: str, Data: bytes) -> None:
        if b'"translatedText"' in Data:
            overlapped.append(synthesizing.wait(timeout=10))  # the caption is still on its way
        post(ConnectionId=ConnectionId, Data=Data)

    processor.api.post_to_connection = slow_post  # type: ignore[method-assign]

    report = processor.invoke(first_payload(batches, HELLO))

    assert overlapped == [True]
    assert report["clips"] == 1
    assert types_to(processor, "es-1") == ["translatedText", "translatedAudio"]


@pytest.mark.parametrize(
    "payload_change",
    [
        {"text": ""},
        {"sessionId": "x"},
        {"sourceLanguage": "nl"},  # a target-only language cannot be spoken
        {"durationMs": 0},
        {"index": -1},
    ],
)
def test_a_malformed_payload_is_refused_and_counted(processor, batches, payload_change):
    report = processor.invoke({**first_payload(batches), **payload_change})
    assert report["outcome"] == "invalid"
    assert processor.api.sent == []


def test_languages_run_in_parallel_with_each_its_own_answer(aws, batches, mp3):
    """With Stubber's ordered queue out of the picture, keyed fakes check the parallel path."""
    processor = Processor(aws, language_workers=8)
    languages = ["de", "es", "fr", "it", "ja", "pt"]
    for n, language in enumerate(languages):
        processor.listen(f"{language}-{n}", language)

    def translate(Text, SourceLanguageCode, TargetLanguageCode):  # the SDK's parameter names
        return {"TranslatedText": f"[{TargetLanguageCode}] {Text}"}

    voices: dict[str, str] = {}

    def synthesize(**request):
        voices[request["Text"]] = request["VoiceId"]
        return {"AudioStream": io.BytesIO(mp3)}

    processor.translate.deactivate()
    processor.polly.deactivate()
    processor.translate_client.translate_text = translate
    processor.polly_client.synthesize_speech = synthesize

    report = processor.invoke(first_payload(batches, HELLO))

    assert report["clips"] == len(languages)
    for n, language in enumerate(languages):
        caption, voice = processor.api.to(f"{language}-{n}")
        assert caption["text"] == voice["text"] == f"[{language}] {HELLO}"
        assert voices[f"[{language}] {HELLO}"] == LANGUAGES[language].polly_voice
        assert processor.clip(language, 0)[:3] in (b"ID3", b"\xff\xfb")  # an MP3 per language


def test_every_utterance_is_recorded_for_the_transcripts_with_its_delivered_translations(
    processor, batches, mp3
):
    from shared.transcript_records import UtteranceRecord

    processor.listen("es-1", "es")
    processor.expect_translation(SOURCE_TEXT, "es", SPANISH)
    processor.expect_speech(SPANISH, "Lucia", "neural", mp3)
    batch = batches[1]

    processor.invoke(said(batch, SOURCE_TEXT))

    body = processor.s3.get_object(Bucket=BUCKET, Key=resources.utterance_record_key(SESSION, 1))[
        "Body"
    ].read()
    record = UtteranceRecord.from_json(body)
    assert (record.index, record.start_ms, record.duration_ms) == (1, batch.start_ms, batch.duration_ms)
    assert (record.source_language, record.source_text) == ("en", SOURCE_TEXT)
    assert record.translations == {"es": SPANISH}


def test_the_speaker_is_told_of_audio_lost_before_an_utterance(processor, batches):
    """The worker skipped chunks that never arrived: the transcript line after the gap
    says how much audio is missing."""
    payload = {**first_payload(batches), "missedBeforeMs": 9300}
    processor.invoke(payload)
    (transcript,) = processor.api.to(SPEAKER)
    assert transcript["missedMs"] == 9300 and transcript["text"] == SOURCE_TEXT
