"""The processor's small parts: Polly text splitting, retries, settings."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from audio_processor.aws_synthesizer import AwsSynthesizer, split_for_polly
from audio_processor.config import ProcessorConfig
from audio_processor.retry import Deadline, Retryable, RetryPolicy, retryable_client_error
from deployment.config import ConfigError
from shared.languages import LANGUAGES


def test_short_text_is_one_polly_request():
    assert split_for_polly("Hola a todos.") == ["Hola a todos."]


def test_long_text_is_cut_after_sentences_within_the_limit():
    text = " ".join(f"Sentence number {n} is here." for n in range(400))
    pieces = split_for_polly(text, limit=500)
    assert all(len(p) <= 500 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text


def test_a_sentence_longer_than_the_limit_is_cut_at_spaces():
    text = "word " * 300
    pieces = split_for_polly(text, limit=100)
    assert all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_cjk_sentences_without_spaces_are_split_too():
    text = "今日は。" * 100
    pieces = split_for_polly(text, limit=50)
    assert all(len(p) <= 50 for p in pieces) and "".join(pieces) == text


def test_hindi_names_the_language_of_a_bilingual_voice():
    calls = []

    class Polly:
        def synthesize_speech(self, **request):
            calls.append(request)
            import io

            return {"AudioStream": io.BytesIO(b"ID3")}

    AwsSynthesizer(Polly()).synthesize("नमस्ते", LANGUAGES["hi"])
    assert calls[0]["VoiceId"] == "Kajal" and calls[0]["LanguageCode"] == "hi-IN"
    AwsSynthesizer(Polly()).synthesize("Hallo", LANGUAGES["de"])
    assert "LanguageCode" not in calls[1]


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("ThrottlingException", 400, True),
        ("TooManyRequestsException", 429, True),
        ("ServiceFailureException", 500, True),
        ("Whatever", 503, True),
        ("ValidationException", 400, False),
        ("TextSizeLimitExceededException", 400, False),
    ],
)
def test_which_client_errors_are_retried(code, status, retryable):
    assert retryable_client_error(_client_error(code, status)) is retryable


def test_retries_stop_before_the_deadline():
    sleeps: list[float] = []
    policy = RetryPolicy(
        max_attempts=10, base_seconds=1.0, cap_seconds=4.0, sleep=sleeps.append, rand=lambda: 1.0
    )
    attempts = []

    def always_throttled() -> None:
        attempts.append(1)
        raise Retryable("throttled")

    remaining = [5.0]

    def left() -> float:
        return remaining[0] - sum(sleeps)

    with pytest.raises(Retryable):
        policy.call(always_throttled, Deadline(left, margin_seconds=1.0))
    assert sleeps == [1.0, 2.0]  # a third pause (4 s) would run past the deadline
    assert len(attempts) == 3


ENV = {
    "SESSIONS_TABLE": "S",
    "CONNECTIONS_TABLE": "C",
    "IDEMPOTENCY_TABLE": "I",
    "S3_BUCKET_NAME": "B",
    "API_GATEWAY_ENDPOINT": "https://x",
}


def test_config_reads_optional_settings(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TRANSLATE_TERMINOLOGY_NAMES", "brand, product")
    config = ProcessorConfig.from_env()
    assert config.terminology_names == ("brand", "product")
    assert config.url_seconds == 600


@pytest.mark.parametrize(("name", "value"), [("SPEECH_ENGINES", "magic"), ("FANOUT_PAGE_SIZE", "many")])
def test_config_refuses_unknown_values(monkeypatch, name, value):
    for key, env_value in ENV.items():
        monkeypatch.setenv(key, env_value)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        ProcessorConfig.from_env()
