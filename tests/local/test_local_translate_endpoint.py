"""The local Translate endpoint (local/endpoints/translate.py) on a real port, called by a stock
boto3 client and by the unchanged AwsTranslator: Apertium's translations, and the service's
error codes for what the real service refuses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from audio_processor.aws_translator import AwsTranslator
from audio_processor.engines import build_engines
from audio_processor.retry import Retryable
from local.endpoints import translate
from local.endpoints.service_latency import ServiceLatency, remaining_seconds
from local.engines.apertium import ApertiumTranslator
from local.kit.processor import config as processor_config
from local.kit.served_app import served_app
from shared.languages import LANGUAGES, Language

ENGLISH, SPANISH = LANGUAGES["en"], LANGUAGES["es"]
SENTENCE = "Good morning, we are going to talk about live translation."


class BrokenTranslator:
    def translate(self, text: str, source: Language, target: Language) -> str:
        raise RuntimeError("apertium died")


def endpoint(translator: translate.TextTranslator) -> translate.TranslateEndpoint:
    return translate.TranslateEndpoint(translate.TranslateService(translator))


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served_app(endpoint(ApertiumTranslator()).app()) as base:
        yield base


def client(url: str, **config: Any) -> Any:
    return boto3.client(
        "translate",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def error_of(call: object, **request: object) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**request)  # type: ignore[operator]
    return caught.value


def raw_post(url: str, body: object) -> tuple[int, dict[str, object]]:
    """A request no SDK would send with its validation on."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": translate.CONTENT_TYPE, "X-Amz-Target": translate.TARGET},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_a_stock_client_translates_english_to_spanish_through_apertium(url):
    answer = client(url).translate_text(Text=SENTENCE, SourceLanguageCode="en", TargetLanguageCode="es")

    assert answer["TranslatedText"] == ApertiumTranslator().translate(SENTENCE, ENGLISH, SPANISH)
    assert answer["TranslatedText"] != SENTENCE
    assert (answer["SourceLanguageCode"], answer["TargetLanguageCode"]) == ("en", "es")
    assert "AppliedTerminologies" not in answer


def test_a_pair_apertium_cannot_translate_is_refused_with_both_codes(url):
    error = error_of(
        client(url).translate_text, Text="Hello.", SourceLanguageCode="en", TargetLanguageCode="de"
    )

    assert error.response["Error"]["Code"] == "UnsupportedLanguagePairException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (error.response["SourceLanguageCode"], error.response["TargetLanguageCode"]) == ("en", "de")


def test_text_over_ten_thousand_bytes_is_refused_even_under_ten_thousand_characters(url):
    text = "é" * 5_001  # 5,001 characters, 10,002 bytes of UTF-8

    error = error_of(client(url).translate_text, Text=text, SourceLanguageCode="en", TargetLanguageCode="es")

    assert error.response["Error"]["Code"] == "TextSizeLimitExceededException"


def test_a_request_missing_a_required_member_is_refused(url):
    status, body = raw_post(url, {"Text": "Hello.", "SourceLanguageCode": "en"})

    assert status == 400
    assert body["__type"] == "InvalidRequestException"
    assert "TargetLanguageCode" in str(body["Message"])


def test_a_member_of_the_wrong_type_is_refused(url):
    unchecked = client(url, parameter_validation=False)

    error = error_of(unchecked.translate_text, Text=5, SourceLanguageCode="en", TargetLanguageCode="es")

    assert error.response["Error"]["Code"] == "InvalidRequestException"


def test_a_value_outside_the_models_enum_is_refused_though_botocore_lets_it_through(url):
    error = error_of(
        client(url).translate_text,
        Text="Hello.",
        SourceLanguageCode="en",
        TargetLanguageCode="es",
        Settings={"Formality": "CASUAL"},
    )

    assert error.response["Error"]["Code"] == "InvalidRequestException"
    assert "Formality" in error.response["Error"]["Message"]


def test_terminology_names_are_accepted_and_reported_without_terms(url):
    answer = client(url).translate_text(
        Text="Hello.", SourceLanguageCode="en", TargetLanguageCode="es", TerminologyNames=["event-terms"]
    )

    assert answer["AppliedTerminologies"] == [{"Name": "event-terms", "Terms": []}]


def test_the_production_translator_runs_against_the_endpoint(url):
    translator = AwsTranslator(client(url))

    assert translator.translate(SENTENCE, ENGLISH, SPANISH) == ApertiumTranslator().translate(
        SENTENCE, ENGLISH, SPANISH
    )


def test_build_engines_finds_the_endpoint_by_its_variable_alone(url, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSLATE", url)
    engines = build_engines(
        replace(processor_config(), engines="aws"), Config(retries={"total_max_attempts": 1})
    )

    assert isinstance(engines.translator, AwsTranslator)
    assert engines.translator.translate("Thank you.", ENGLISH, SPANISH) == ApertiumTranslator().translate(
        "Thank you.", ENGLISH, SPANISH
    )


def test_an_engine_failure_is_an_internal_error_the_production_adapter_retries():
    with served_app(endpoint(BrokenTranslator()).app()) as broken, pytest.raises(Retryable) as caught:
        AwsTranslator(client(broken)).translate("Hello.", ENGLISH, SPANISH)

    assert caught.value.__cause__.response["Error"]["Code"] == "InternalServerException"  # type: ignore[union-attr]


def test_every_error_code_the_endpoint_answers_is_in_the_model():
    operation = translate.operation()

    assert set(translate.ERROR_CODES) <= set(operation.modeled_errors())
    assert operation.unmodeled == {}
    with pytest.raises(LookupError):
        operation.error("ValidationException", "not declared")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ServiceLatency()),
        ("off", ServiceLatency()),
        ("aws", ServiceLatency.aws()),
        ("translate=120, polly=250", ServiceLatency(120.0, 250.0)),
        ("polly=90", ServiceLatency(0.0, 90.0)),
        (
            "transcribe_start=500,transcribe_lag=1000",
            ServiceLatency(transcribe_start_ms=500, transcribe_lag_ms=1000),
        ),
    ],
)
def test_the_latency_setting_is_read_from_its_variable(text, expected):
    assert ServiceLatency.from_env({"LOCAL_AWS_LATENCY": text}) == expected


def test_an_unreadable_latency_setting_is_refused():
    with pytest.raises(ValueError, match="LOCAL_AWS_LATENCY"):
        ServiceLatency.parse("fast")


def test_the_latency_is_a_floor_on_the_answer_not_an_addition():
    assert remaining_seconds(150, 0.05) == pytest.approx(0.1)
    assert remaining_seconds(150, 0.4) == 0.0
    assert remaining_seconds(0, 0.0) == 0.0
