"""Speech that keeps time: clips fitted to their source's duration with real voices
(espeak-ng, as `make local` speaks) and the real ffmpeg, and Polly asked through SSML."""

from __future__ import annotations

import io
import subprocess

import pytest
from botocore.stub import Stubber

from audio_processor.aws_synthesizer import AwsSynthesizer, prosody_ssml
from audio_processor.clip_fit import ClipFitter, FitSettings, PaceMemory, speech_span
from audio_processor.ffmpeg_audio import FfmpegAudio
from local.engines.speech import LocalSynthesizer
from shared.languages import LANGUAGES

SPANISH = LANGUAGES["es"]
# The Spanish of "Today we will talk about live translation for events." (~3.1 s of English).
LONG = "Hoy vamos a hablar de la traducción simultánea en directo para eventos y conferencias."


class CountingSynthesizer:
    """The local voice, with the rates it was asked for."""

    def __init__(self, ffmpeg: str) -> None:
        self.inner = LocalSynthesizer(ffmpeg)
        self.rates: list[float] = []

    def synthesize(self, text, language, rate=1.0):
        self.rates.append(rate)
        return self.inner.synthesize(text, language, rate)


@pytest.fixture
def audio(ffmpeg) -> FfmpegAudio:
    return FfmpegAudio(ffmpeg)


def natural_ms(audio: FfmpegAudio, mp3: bytes) -> float:
    pcm = audio.decode(mp3)
    span = speech_span(pcm, audio.sample_rate, -45.0, 30)
    return span.samples / (audio.sample_rate / 1000)


def played_ms(audio: FfmpegAudio, mp3: bytes) -> float:
    return len(audio.decode(mp3)) / 2 / (audio.sample_rate / 1000)


def test_a_clip_longer_than_its_source_is_spoken_faster_to_fit(ffmpeg, audio):
    voice = CountingSynthesizer(ffmpeg)
    spoken = natural_ms(audio, voice.inner.synthesize(LONG, SPANISH))
    source_ms = round(spoken / 1.15) - 200  # the clip is 15 % longer than source + pause credit
    fitter = ClipFitter(voice, audio)

    clip = fitter.speak(LONG, SPANISH, source_ms)

    assert clip.natural_ratio > 1.1
    assert clip.clip_ms <= (source_ms + 200) * 1.03 + 40
    assert (
        abs(played_ms(audio, clip.mp3) - clip.clip_ms) < 100
    )  # clipMs is what plays, to an MP3 frame or two
    assert clip.voice_rate * clip.tempo <= 1.3 + 1e-9


def test_the_speed_up_never_passes_the_cap_and_the_clip_is_then_accepted_longer(ffmpeg, audio):
    voice = CountingSynthesizer(ffmpeg)
    spoken = natural_ms(audio, voice.inner.synthesize(LONG, SPANISH))
    source_ms = round(spoken / 2)  # would need 2x: too fast to follow

    clip = ClipFitter(voice, audio).speak(LONG, SPANISH, source_ms)

    assert clip.voice_rate * clip.tempo == pytest.approx(1.3, abs=0.01)
    assert clip.clip_ms == pytest.approx(spoken / 1.3, rel=0.06)
    assert clip.ratio > 1.3  # longer than the source: the player catches up in the pauses


def test_the_voice_learns_its_pace_and_is_asked_to_speak_faster_up_front(ffmpeg, audio):
    voice = CountingSynthesizer(ffmpeg)
    spoken = natural_ms(audio, voice.inner.synthesize(LONG, SPANISH))
    fitter = ClipFitter(voice, audio, pace=PaceMemory(weight=1.0))

    fitter.speak(LONG, SPANISH, round(spoken * 2))  # plenty of time: learns the pace, no rush
    second = fitter.speak(LONG, SPANISH, round(spoken / 1.2) - 200)

    assert voice.rates[0] == 1.0
    assert voice.rates[1] == pytest.approx(1.2, abs=0.05)  # the voice's own rate, not a stretch
    assert second.tempo < 1.06


def test_leading_and_trailing_silence_is_trimmed(ffmpeg, audio):
    voice = CountingSynthesizer(ffmpeg)
    speech = voice.inner.synthesize("Buenos días a todos.", SPANISH)
    padded = subprocess.run(  # 700 ms of silence before and after the speech
        [ffmpeg, "-v", "error", "-i", "-", "-af", "adelay=700,apad=pad_dur=0.7", "-ar", "24000",
         "-c:a", "libmp3lame", "-b:a", "48k", "-f", "mp3", "-"],
        input=speech, capture_output=True, check=True,
    ).stdout  # fmt: skip

    class Padded:
        def synthesize(self, text, language, rate=1.0):
            return padded

    clip = ClipFitter(Padded(), audio).speak("Buenos días a todos.", SPANISH, 10_000)

    assert clip.tempo == 1.0
    assert played_ms(audio, padded) - played_ms(audio, clip.mp3) > 1200
    assert abs(played_ms(audio, clip.mp3) - natural_ms(audio, speech)) < 150


def test_a_clip_that_fits_and_has_no_silence_to_trim_is_delivered_byte_for_byte(ffmpeg, audio):
    voice = CountingSynthesizer(ffmpeg)
    mp3 = voice.inner.synthesize("Buenos días.", SPANISH)

    class Exact:
        def synthesize(self, text, language, rate=1.0):
            return mp3

    # A huge trim tolerance: what espeak leaves at the ends is not worth a re-encode.
    fitter = ClipFitter(Exact(), audio, FitSettings(min_trim_ms=10_000))
    clip = fitter.speak("Buenos días.", SPANISH, 10_000)

    assert clip.mp3 == mp3
    assert (clip.voice_rate, clip.tempo) == (1.0, 1.0)


def test_a_clip_ffmpeg_cannot_read_is_delivered_as_it_came(audio):
    class Broken:
        def synthesize(self, text, language, rate=1.0):
            return b"\x00" * 8  # what moto's Polly returns

    clip = ClipFitter(Broken(), audio).speak("Hola.", SPANISH, 1000)

    assert clip.mp3 == b"\x00" * 8
    assert clip.tempo == 1.0


def test_polly_is_asked_for_a_faster_rate_through_ssml_with_the_text_escaped():
    import boto3

    client = boto3.client("polly", region_name="us-east-1")
    text = 'Precios <10 € & "ofertas"'
    with Stubber(client) as stub:
        stub.add_response(
            "synthesize_speech",
            {"AudioStream": io.BytesIO(b"mp3"), "ContentType": "audio/mpeg", "RequestCharacters": 25},
            {
                "Text": '<speak><prosody rate="120%">Precios &lt;10 € &amp; "ofertas"</prosody></speak>',
                "TextType": "ssml",
                "OutputFormat": "mp3",
                "VoiceId": SPANISH.polly_voice,
                "Engine": SPANISH.polly_engine,
                **({"LanguageCode": SPANISH.polly_language} if SPANISH.polly_language else {}),
            },
        )
        assert AwsSynthesizer(client).synthesize(text, SPANISH, 1.2) == b"mp3"
    assert prosody_ssml("a", 1.0) == '<speak><prosody rate="100%">a</prosody></speak>'
