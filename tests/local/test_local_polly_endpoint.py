"""The local Polly endpoint (local/endpoints/polly.py) on a real port, called by a stock boto3
client and by the unchanged AwsSynthesizer: real MP3 from the offline voices at the rate SSML
asks, and the service's error codes for what the real service refuses."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from audio_processor.aws_synthesizer import AwsSynthesizer
from audio_processor.engines import build_engines
from audio_processor.ffmpeg_audio import FfmpegAudio
from audio_processor.retry import Retryable
from local.endpoints import polly
from local.engines.speech import LocalSynthesizer, PiperVoiceEngine
from local.kit.processor import config as processor_config
from local.kit.served_app import served_app
from shared.languages import LANGUAGES, Language

ENGLISH, SPANISH = LANGUAGES["en"], LANGUAGES["es"]
FRASE = "Hoy vamos a hablar de la traducción simultánea para eventos y conferencias."


class BrokenVoices:
    def wav(self, text: str, language: Language, rate: float = 1.0) -> bytes:
        raise RuntimeError("espeak-ng died")

    def has_voice(self, language: Language) -> bool:
        return True


@pytest.fixture(scope="module")
def url(ffmpeg) -> Iterator[str]:
    service = polly.PollyService(LocalSynthesizer(ffmpeg, PiperVoiceEngine()), ffmpeg)
    with served_app(polly.PollyEndpoint(service).app()) as base:
        yield base


def client(url: str, **config: Any) -> Any:
    return boto3.client(
        "polly",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def speak(url: str, **request: object) -> dict[str, object]:
    """A stock client's answer, its stream read."""
    answer = client(url).synthesize_speech(
        **{"VoiceId": "Lucia", "Engine": "neural", "OutputFormat": "mp3", **request}
    )
    return {**answer, "audio": answer["AudioStream"].read()}


def error_code(url: str, validation: bool = True, **request: object) -> str:
    stock = client(url, parameter_validation=validation)
    with pytest.raises(ClientError) as caught:
        stock.synthesize_speech(**{"VoiceId": "Lucia", "Engine": "neural", "OutputFormat": "mp3", **request})
    return str(caught.value.response["Error"]["Code"])


def seconds(ffmpeg: str, mp3: bytes) -> float:
    audio = FfmpegAudio(ffmpeg)
    return len(audio.decode(mp3)) / 2 / audio.sample_rate


def test_plain_text_is_spoken_as_real_mp3_with_its_billed_characters(url, ffmpeg):
    answer = speak(url, Text=FRASE)

    assert answer["ContentType"] == "audio/mpeg"
    assert answer["RequestCharacters"] == len(FRASE)
    assert seconds(ffmpeg, answer["audio"]) > 2.0  # a dozen words, really spoken


def test_ssml_prosody_rate_speaks_faster_and_its_tags_are_not_billed(url, ffmpeg):
    plain = speak(url, Text=FRASE)
    ssml = f'<speak><prosody rate="150%">{FRASE}</prosody></speak>'
    faster = speak(url, Text=ssml, TextType="ssml")

    assert faster["RequestCharacters"] == len(FRASE)
    assert seconds(ffmpeg, faster["audio"]) / seconds(ffmpeg, plain["audio"]) < 0.8


def test_parts_of_a_document_at_other_rates_are_spoken_in_order_at_theirs(url, ffmpeg):
    plain = speak(url, Text=FRASE)
    half = len(FRASE) // 2
    cut = FRASE.rindex(" ", 0, half)
    ssml = f'<speak>{FRASE[:cut]} <prosody rate="50%">{FRASE[cut:]}</prosody></speak>'

    mixed = speak(url, Text=ssml, TextType="ssml")

    assert seconds(ffmpeg, mixed["audio"]) / seconds(ffmpeg, plain["audio"]) > 1.2


def test_nested_prosody_rates_compound_and_text_after_a_tag_is_at_the_outer_rate():
    ssml = (
        '<speak>uno <prosody rate="50%">dos <prosody rate="200%">tres</prosody> cuatro</prosody>'
        " cinco</speak>"
    )

    runs, billed = polly.ssml_runs(ssml, "neural")

    assert runs == [
        polly.Run("uno", 1.0),
        polly.Run("dos", 0.5),
        polly.Run("tres", 1.0),
        polly.Run("cuatro", 0.5),
        polly.Run("cinco", 1.0),
    ]
    assert billed == len("uno dos tres cuatro cinco")


def test_the_production_synthesizer_speaks_english_through_piper_at_the_rate_it_asks(url, ffmpeg):
    synthesizer = AwsSynthesizer(client(url))
    sentence = "Today we will talk about live translation for events and conferences."

    natural = seconds(ffmpeg, synthesizer.synthesize(sentence, ENGLISH))
    faster = seconds(ffmpeg, synthesizer.synthesize(sentence, ENGLISH, rate=1.3))

    assert natural > 2.0
    assert faster / natural < 0.9


def test_build_engines_finds_the_endpoint_by_its_variable_alone(url, ffmpeg, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_POLLY", url)
    engines = build_engines(
        replace(processor_config(), engines="aws"), Config(retries={"total_max_attempts": 1})
    )

    assert isinstance(engines.synthesizer, AwsSynthesizer)
    assert seconds(ffmpeg, engines.synthesizer.synthesize("Buenos días.", SPANISH)) > 0.3


def test_pcm_is_produced_at_the_asked_rate(url):
    answer = speak(url, Text="Buenos días.", OutputFormat="pcm", SampleRate="8000")

    assert answer["ContentType"] == "audio/pcm"
    assert 0.3 < len(answer["audio"]) / 2 / 8000 < 5.0  # s16le mono at 8 kHz


@pytest.mark.parametrize(
    "ssml",
    [
        '<speak><prosody rate="150%">hola</speak>',  # not well-formed
        "<speak><shout>hola</shout></speak>",  # not an SSML tag
        "<prosody rate='150%'>hola</prosody>",  # no <speak> root
        '<speak><prosody rate="300%">hola</prosody></speak>',  # over 200 %
        '<speak><prosody pitch="high">hola</prosody></speak>',  # neural voices refuse pitch
    ],
)
def test_ssml_polly_would_refuse_is_an_invalid_ssml_exception(url, ssml):
    assert error_code(url, Text=ssml, TextType="ssml") == "InvalidSsmlException"


def test_an_engine_the_voice_does_not_support_is_refused(url):
    assert error_code(url, Text="hola", Engine="standard") == "EngineNotSupportedException"
    assert error_code(url, Text="hola", Engine=None, validation=False) == "EngineNotSupportedException"


def test_over_three_thousand_billed_characters_is_refused(url):
    assert error_code(url, Text="a" * 3_001) == "TextLengthExceededException"


def test_an_unknown_voice_and_a_voice_with_no_local_engine_are_validation_errors(url):
    assert error_code(url, Text="hola", VoiceId="Hal", validation=False) == "ValidationException"
    assert error_code(url, Text="hallo", VoiceId="Vicki") == "ValidationException"  # German: no offline voice


def test_a_request_missing_a_required_member_is_a_validation_error(url):
    assert error_code(url, Text="hola", OutputFormat=None, validation=False) == "ValidationException"


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"OutputFormat": "pcm", "SampleRate": "44100"}, "InvalidSampleRateException"),
        ({"LexiconNames": ["events"]}, "LexiconNotFoundException"),
        ({"SpeechMarkTypes": ["word"]}, "MarksNotSupportedForFormatException"),
        ({"OutputFormat": "json", "SpeechMarkTypes": ["ssml"]}, "SsmlMarksNotSupportedForTextTypeException"),
        ({"OutputFormat": "json", "SpeechMarkTypes": ["word"]}, "ValidationException"),  # no marks locally
    ],
)
def test_the_other_requests_polly_refuses(url, request_, code):
    assert error_code(url, Text="hola", **request_) == code


def test_a_voice_failure_is_a_service_failure_the_production_adapter_retries(ffmpeg):
    service = polly.PollyService(BrokenVoices(), ffmpeg)
    with served_app(polly.PollyEndpoint(service).app()) as broken, pytest.raises(Retryable) as caught:
        AwsSynthesizer(client(broken)).synthesize("hola", SPANISH)

    assert caught.value.__cause__.response["Error"]["Code"] == "ServiceFailureException"  # type: ignore[union-attr]


def test_every_error_code_the_endpoint_answers_is_in_the_model_or_declared_unmodeled():
    operation = polly.operation()
    modeled = set(operation.modeled_errors())

    # ValidationException is what Polly answers for a request outside the model's constraints
    # (an unknown VoiceId, as SDK users report it) though the model does not name it.
    # ThrottlingException is real and unmodeled too; the endpoint never answers it.
    assert set(polly.ERROR_CODES) - modeled == {"ValidationException"}
    assert dict(operation.unmodeled) == {"ValidationException": 400}


def test_joined_pieces_keep_every_frame(ffmpeg):
    voices = LocalSynthesizer(ffmpeg)
    one, two = voices.wav("uno", SPANISH), voices.wav("dos", SPANISH)

    joined = polly.joined_wav([one, two])

    def frames(data: bytes) -> int:
        with wave.open(io.BytesIO(data)) as piece:
            return len(piece.readframes(piece.getnframes()))

    assert frames(joined) == frames(one) + frames(two)
