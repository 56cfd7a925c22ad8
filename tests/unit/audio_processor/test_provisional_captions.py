"""Provisional captions in the processor (docs/ARCHITECTURE.md §15): each stable clause is
translated once per language and posted once, however often its invocation is retried,
and the final caption of the utterance reuses the clause translations.

The real handler over moto, Translate and Polly answered by botocore's Stubber (a call
the stub did not expect fails the test: a clause translated twice shows)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from local.kit.captures import capture
from local.kit.processor import SESSION, Processor, encode_mp3
from shared.audio_unit import ClauseUnit, UtteranceUnit

CLAUSE = "Today I want to tell you how we made it fast,"
REST = "and what we learned along the way."


@pytest.fixture(scope="module")
def mp3(ffmpeg) -> bytes:
    return encode_mp3(ffmpeg, capture("en-keynote").pcm[16000:64000])


@pytest.fixture
def processor():
    with mock_aws():
        processor = Processor(boto3.Session(region_name="us-east-1"))
        processor.listen("es-1", "es")
        processor.listen("en-1", "en")
        yield processor


def clause(seq: int = 0, text: str = CLAUSE, index: int = 3) -> dict:
    unit = ClauseUnit(
        session_id=SESSION,
        index=index,
        seq=seq,
        start_ms=1000,
        duration_ms=2500,
        source_language="en",
        text=text,
    )
    return unit.payload()


def utterance(provisional: tuple[str, ...], text: str = f"{CLAUSE} {REST}", index: int = 3) -> dict:
    unit = UtteranceUnit(
        session_id=SESSION,
        index=index,
        start_ms=1000,
        duration_ms=4000,
        source_language="en",
        text=text,
        provisional=provisional,
    )
    return unit.payload()


def of_type(processor: Processor, connection_id: str, kind: str) -> list[dict]:
    return [m for m in processor.api.to(connection_id) if m["type"] == kind]


def test_a_clause_is_translated_once_and_posted_once_per_language_even_when_retried(processor):
    processor.expect_translation(CLAUSE, "es", "Hoy quiero contaros cómo lo hicimos rápido,")
    first = processor.invoke(clause())
    again = processor.invoke(clause())  # Lambda's retry of the same event: no Translate call expected
    processor.translate.assert_no_pending_responses()
    assert first["translatedChars"] == len(CLAUSE) and again["translatedChars"] == 0
    assert sorted(again["alreadyPosted"]) == ["en", "es"]
    (spanish,) = of_type(processor, "es-1", "provisionalCaption")
    assert (spanish["index"], spanish["seq"], spanish["language"]) == (3, 0, "es")
    assert spanish["text"] == "Hoy quiero contaros cómo lo hicimos rápido,"
    assert spanish["sourceText"] == CLAUSE
    (english,) = of_type(processor, "en-1", "provisionalCaption")
    assert english["text"] == CLAUSE  # the speaker's language: shown untranslated


def test_the_final_caption_reuses_the_clause_translation_and_translates_only_the_rest(processor, mp3):
    processor.expect_translation(CLAUSE, "es", "Hoy quiero contaros cómo lo hicimos rápido,")
    processor.invoke(clause())
    processor.expect_translation(REST, "es", "y lo que aprendimos por el camino.")
    final_text = "Hoy quiero contaros cómo lo hicimos rápido, y lo que aprendimos por el camino."
    processor.expect_speech(final_text, "Lucia", "neural", mp3)
    processor.expect_speech(f"{CLAUSE} {REST}", "Joanna", "neural", mp3)
    report = processor.invoke(utterance((CLAUSE,)))
    processor.translate.assert_no_pending_responses()
    assert report["translatedChars"] == len(REST)
    (caption,) = of_type(processor, "es-1", "translatedText")
    assert caption["text"] == final_text
    provisional = of_type(processor, "es-1", "provisionalCaption")[0]["text"].split()
    assert caption["text"].split()[: len(provisional)] == provisional  # a word shown stays


def test_a_clause_that_comes_after_its_final_caption_is_not_translated_again_nor_posted(processor, mp3):
    """Asynchronous invokes reorder: the final translated the clause itself and kept it."""
    processor.expect_translation(CLAUSE, "es", "Hoy quiero contaros cómo lo hicimos rápido,")
    processor.expect_translation(REST, "es", "y lo que aprendimos por el camino.")
    final_text = "Hoy quiero contaros cómo lo hicimos rápido, y lo que aprendimos por el camino."
    processor.expect_speech(final_text, "Lucia", "neural", mp3)
    processor.expect_speech(f"{CLAUSE} {REST}", "Joanna", "neural", mp3)
    processor.invoke(utterance((CLAUSE,)))
    late = processor.invoke(clause())
    processor.translate.assert_no_pending_responses()
    assert late["translatedChars"] == 0
    assert sorted(late["alreadyPosted"]) == ["en", "es"]
    assert of_type(processor, "es-1", "provisionalCaption") == []


def test_a_final_that_does_not_start_with_its_clauses_is_translated_whole(processor, mp3):
    """After a crash the replacement recognized the audio again differently."""
    text = "Today we made it fast and reliable."
    processor.expect_translation(text, "es", "Hoy lo hicimos rápido y fiable.")
    processor.expect_speech("Hoy lo hicimos rápido y fiable.", "Lucia", "neural", mp3)
    processor.expect_speech(text, "Joanna", "neural", mp3)
    report = processor.invoke(utterance((CLAUSE,), text=text))
    processor.translate.assert_no_pending_responses()
    assert report["translatedChars"] == len(text)


def test_a_malformed_clause_is_refused(processor):
    payload = {**clause(), "seq": -1}
    assert processor.invoke(payload)["outcome"] == "invalid"
