"""Amazon Polly's SynthesizeSpeech on 127.0.0.1, backed by the offline voices (Piper for
English, espeak-ng for the others), for the unchanged AwsSynthesizer and a stock boto3
`polly` client (`AWS_ENDPOINT_URL_POLLY`).

The wire protocol is rest-json: `POST /v1/speech` with a JSON body; the answer's body is
the audio, with `Content-Type` and `x-amzn-RequestCharacters` (the billed characters);
errors are the status, an `x-amzn-ErrorType` header and `{"message": ...}`. The request is
held to botocore's model of the operation (local.endpoints.service_model), then to what
Polly checks itself: the voice and its engine (from shared.languages, the one table of
voices this product uses), the SSML, the text's length and the sample rate.

What it cannot know: how the real voices sound (neural prosody, pronunciation), Polly's
real timing and quotas, lexicons (none are stored, so any lexicon name is not found), and
engines a voice supports beyond the one the table names. Locally unavailable, refused with
a message that says so: voices outside the table or without an offline voice, speech marks
(`json`), and the ogg, mu-law and a-law formats (mp3 and pcm are produced). SSML: `<speak>`
is the root; Polly's tags are accepted and their text spoken, but only `<prosody rate>`
changes how (a `<break>` is not a pause here); `amazon:` tags, whose prefix Polly does not
ask to be declared, are refused as malformed XML. Signatures are not verified."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import uuid
import wave
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from local.endpoints.service_model import Operation, ServiceError
from local.endpoints.threaded import threaded_app
from shared.languages import LANGUAGES, Language

logger = logging.getLogger("local.polly")

PATH = "/v1/speech"
MAX_BILLED_CHARACTERS = 3_000  # SynthesizeSpeech: at most 3,000 billed characters...
MAX_CHARACTERS = 6_000  # ...and 6,000 in all, SSML tags included (TextLengthExceededException's doc)
DEFAULT_ENGINE = "standard"  # when a request names none (the model's doc of Engine)

INVALID_SSML = "InvalidSsmlException"
TEXT_TOO_LONG = "TextLengthExceededException"
BAD_SAMPLE_RATE = "InvalidSampleRateException"
ENGINE_NOT_SUPPORTED = "EngineNotSupportedException"
LEXICON_NOT_FOUND = "LexiconNotFoundException"
MARKS_FOR_FORMAT = "MarksNotSupportedForFormatException"
SSML_MARKS_FOR_TEXT = "SsmlMarksNotSupportedForTextTypeException"
SERVICE_FAILURE = "ServiceFailureException"
# Not in the model, answered by the real service: a request that breaks the model's
# constraints, an unknown VoiceId among them, is a 400 ValidationException ("1 validation
# error detected: Value 'de-de' at 'voiceId' failed to satisfy constraint: Member must satisfy
# enum value set", as reported by SDK users). Throttling (ThrottlingException, 400) is real
# and unmodeled too, but this endpoint has no quota to enforce, so it never answers it.
VALIDATION = "ValidationException"
UNMODELED = {VALIDATION: 400}
ERROR_CODES = (
    INVALID_SSML,
    TEXT_TOO_LONG,
    BAD_SAMPLE_RATE,
    ENGINE_NOT_SUPPORTED,
    LEXICON_NOT_FOUND,
    MARKS_FOR_FORMAT,
    SSML_MARKS_FOR_TEXT,
    SERVICE_FAILURE,
    VALIDATION,
)


def operation() -> Operation:
    return Operation.load("polly", "SynthesizeSpeech", ERROR_CODES, UNMODELED)


# -- SSML ----------------------------------------------------------------------------------------
MIN_RATE, MAX_RATE = 0.2, 2.0  # prosody rate="n%": 20-200 % (Polly's SSML reference)
# Polly does not publish the keywords' rates: these are estimates.
RATE_KEYWORDS = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
# Polly's SSML tags (its "Supported SSML tags"), less the `amazon:` ones.
SSML_TAGS = frozenset(
    {"speak", "break", "emphasis", "lang", "mark", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
)


@dataclass(frozen=True)
class Run:
    """Text spoken at one rate."""

    text: str
    rate: float = 1.0


class SsmlError(ValueError):
    pass


def ssml_runs(ssml: str, engine: str) -> tuple[list[Run], int]:
    """The text of an SSML document in runs of one rate each, in order, and the characters
    Polly bills for it: the text's, not the tags'."""
    try:
        root = ElementTree.fromstring(ssml)
    except ElementTree.ParseError as bad:
        raise SsmlError(f"the SSML is not well-formed XML: {bad}") from bad
    if root.tag != "speak":
        raise SsmlError("the SSML's root must be <speak>")
    pieces: list[Run] = []
    _collect(root, 1.0, engine, pieces)
    return _merged(pieces), len("".join(root.itertext()))


def _collect(element: ElementTree.Element, outer_rate: float, engine: str, into: list[Run]) -> None:
    if element.tag not in SSML_TAGS:
        raise SsmlError(f"<{element.tag}> is not an SSML tag Polly knows")
    rate = outer_rate
    if element.tag == "prosody":
        if "pitch" in element.attrib and engine != "standard":  # neural voices refuse pitch
            raise SsmlError(f"<prosody pitch> is not supported by the {engine} engine")
        rate *= _rate(element.attrib.get("rate", "medium"))  # nested rates compound
    if element.tag == "sub":  # the alias is said instead of the written text
        into.append(Run(element.attrib.get("alias", ""), rate))
    else:
        into.append(Run(element.text or "", rate))
        for child in element:
            _collect(child, rate, engine, into)
    into.append(Run(element.tail or "", outer_rate))


def _rate(value: str) -> float:
    value = value.strip()
    if value in RATE_KEYWORDS:
        return RATE_KEYWORDS[value]
    try:
        rate = float(value.removesuffix("%")) / 100 if value.endswith("%") else float("nan")
    except ValueError:
        rate = float("nan")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise SsmlError(f'prosody rate="{value}" is not 20%-200% or x-slow..x-fast')
    return rate


def _merged(pieces: list[Run]) -> list[Run]:
    runs: list[Run] = []
    for piece in pieces:
        if runs and runs[-1].rate == piece.rate:
            runs[-1] = Run(runs[-1].text + piece.text, piece.rate)
        else:
            runs.append(piece)
    return [Run(" ".join(run.text.split()), run.rate) for run in runs if run.text.strip()]


# -- formats ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AudioFormat:
    content_type: str
    sample_rates: tuple[int, ...]  # the valid SampleRate values (the model's doc of SampleRate)
    codec: tuple[str, ...]  # ffmpeg's output options

    def default_rate(self, engine: str) -> int:
        if self.content_type == "audio/pcm":
            return 16_000
        return 22_050 if engine == "standard" else 24_000


FORMATS = {
    # -write_xing: the LAME tag, as local/engines/speech.py writes it (gapless playback).
    "mp3": AudioFormat(
        "audio/mpeg",
        (8_000, 16_000, 22_050, 24_000, 44_100, 48_000),
        ("-c:a", "libmp3lame", "-b:a", "48k", "-write_xing", "1", "-f", "mp3"),
    ),
    "pcm": AudioFormat("audio/pcm", (8_000, 16_000), ("-c:a", "pcm_s16le", "-f", "s16le")),
}


def encode(ffmpeg: str, wav: bytes, audio_format: AudioFormat, sample_rate: int) -> bytes:
    command = [ffmpeg, "-v", "error", "-nostdin", "-i", "-", "-ac", "1", "-ar", str(sample_rate)]
    return subprocess.run(
        [*command, *audio_format.codec, "-"], input=wav, capture_output=True, check=True, timeout=30
    ).stdout


def joined_wav(wavs: list[bytes]) -> bytes:
    """One WAV of several of one voice (the same rate and sample width), back to back."""
    if len(wavs) == 1:
        return wavs[0]
    frames: list[bytes] = []
    params: tuple[int, int, int] | None = None
    for data in wavs:
        with wave.open(io.BytesIO(data)) as piece:
            these = (piece.getnchannels(), piece.getsampwidth(), piece.getframerate())
            if params is not None and these != params:
                raise ValueError(f"the pieces' formats differ: {params} and {these}")
            params = these
            # espeak-ng's header says "unknown length": read what is there.
            frames.append(piece.readframes(piece.getnframes()))
    assert params is not None
    out = io.BytesIO()
    with wave.open(out, "wb") as joined:
        joined.setnchannels(params[0])
        joined.setsampwidth(params[1])
        joined.setframerate(params[2])
        joined.writeframes(b"".join(frames))
    return out.getvalue()


# -- the service ---------------------------------------------------------------------------------
class Voices(Protocol):
    """local.engines.speech.LocalSynthesizer"""

    def wav(self, text: str, language: Language, rate: float = 1.0) -> bytes: ...

    def has_voice(self, language: Language) -> bool: ...


@dataclass(frozen=True)
class SpeechRequest:
    runs: tuple[Run, ...]
    language: Language
    audio_format: AudioFormat
    sample_rate: int
    billed_characters: int


@dataclass(frozen=True)
class Speech:
    audio: bytes
    content_type: str
    billed_characters: int


def _voice_language(voice_id: str) -> Language | None:
    return next((lang for lang in LANGUAGES.values() if lang.polly_voice == voice_id), None)


@dataclass
class PollyService:
    """The endpoint's core, without HTTP: `parse` a request, then `answer` it (blocking)."""

    voices: Voices
    ffmpeg: str
    operation: Operation = field(default_factory=operation)

    def parse(self, body: bytes) -> SpeechRequest:
        params = self._params(body)
        self._check_marks_and_lexicons(params)
        engine = params.get("Engine", DEFAULT_ENGINE)
        language = self._language(params["VoiceId"], engine)
        runs, billed = self._text(params["Text"], params.get("TextType", "text"), engine)
        audio_format = self._format(params["OutputFormat"])
        sample_rate = self._sample_rate(params.get("SampleRate"), audio_format, engine)
        return SpeechRequest(tuple(runs), language, audio_format, sample_rate, billed)

    def answer(self, request: SpeechRequest) -> Speech:
        audio_format = request.audio_format
        if not request.runs:  # only markup: nothing to say
            return Speech(b"", audio_format.content_type, request.billed_characters)
        try:
            wav = joined_wav([self.voices.wav(run.text, request.language, run.rate) for run in request.runs])
            audio = encode(self.ffmpeg, wav, audio_format, request.sample_rate)
        except Exception as failure:
            logger.exception("synthesis failed")
            raise self.operation.error(SERVICE_FAILURE, f"the local voice failed: {failure}") from failure
        return Speech(audio, audio_format.content_type, request.billed_characters)

    def _params(self, body: bytes) -> dict[str, Any]:
        # Polly answers a body that is not JSON with a framework code the model does not name
        # (SerializationException); here it is the ValidationException of any malformed request.
        try:
            params = json.loads(body or b"{}")
        except ValueError as bad:
            raise self.operation.error(VALIDATION, f"the body is not JSON: {bad}") from bad
        if not isinstance(params, dict):
            raise self.operation.error(VALIDATION, "the body is not a JSON object")
        problems = self.operation.shape_problems(params)
        if problems:
            raise self.operation.error(VALIDATION, problems)
        return params

    def _check_marks_and_lexicons(self, params: dict[str, Any]) -> None:
        error = self.operation.error
        if params.get("LexiconNames"):
            raise error(LEXICON_NOT_FOUND, f"no lexicon is stored locally: {params['LexiconNames'][0]}")
        marks = params.get("SpeechMarkTypes") or []
        if marks and params["OutputFormat"] != "json":
            raise error(MARKS_FOR_FORMAT, "speech marks are only available in json")
        if "ssml" in marks and params.get("TextType", "text") != "ssml":
            raise error(SSML_MARKS_FOR_TEXT, "ssml speech marks need TextType ssml")

    def _language(self, voice_id: str, engine: str) -> Language:
        language = _voice_language(voice_id)
        if language is None or not self.voices.has_voice(language):
            raise self.operation.error(
                VALIDATION,
                f"the voice {voice_id} is not available locally (only shared.languages' voices are)",
            )
        # The table names the one engine the product uses with each voice: another is
        # refused, though the real voice may support it too.
        if engine != language.polly_engine:
            raise self.operation.error(
                ENGINE_NOT_SUPPORTED, f"the voice {voice_id} does not support the {engine} engine"
            )
        return language

    def _text(self, text: str, text_type: str, engine: str) -> tuple[list[Run], int]:
        if len(text) > MAX_CHARACTERS:
            raise self.operation.error(TEXT_TOO_LONG, f"the text is over {MAX_CHARACTERS} characters")
        if text_type == "ssml":
            try:
                runs, billed = ssml_runs(text, engine)
            except SsmlError as bad:
                raise self.operation.error(INVALID_SSML, str(bad)) from bad
        else:
            runs, billed = ([Run(" ".join(text.split()))] if text.strip() else []), len(text)
        if billed > MAX_BILLED_CHARACTERS:
            raise self.operation.error(
                TEXT_TOO_LONG, f"the text is over {MAX_BILLED_CHARACTERS} billed characters"
            )
        return runs, billed

    def _format(self, output_format: str) -> AudioFormat:
        if output_format not in FORMATS:
            raise self.operation.error(
                VALIDATION, f"the local endpoint produces {' and '.join(FORMATS)}, not {output_format}"
            )
        return FORMATS[output_format]

    def _sample_rate(self, asked: str | None, audio_format: AudioFormat, engine: str) -> int:
        if asked is None:
            return audio_format.default_rate(engine)
        if not asked.isdigit() or int(asked) not in audio_format.sample_rates:
            raise self.operation.error(
                BAD_SAMPLE_RATE, f"{asked} Hz is not a valid sample rate for this format"
            )
        return int(asked)


# -- HTTP ------------------------------------------------------------------------------------------
def error_response(error: ServiceError) -> web.Response:
    return web.json_response(
        {"message": error.message},
        status=error.status,
        headers={"x-amzn-ErrorType": error.code, "x-amzn-RequestId": str(uuid.uuid4())},
    )


@dataclass(frozen=True)
class PollyEndpoint:
    """The HTTP side: SynthesizeSpeech at `POST /v1/speech`, answered no sooner than `floor_ms`."""

    service: PollyService
    floor_ms: float = 0.0

    def app(self) -> web.Application:
        return threaded_app(PATH, self.respond, self.floor_ms, "local-polly")

    def respond(self, headers: Mapping[str, str], body: bytes) -> web.Response:
        try:
            speech = self.service.answer(self.service.parse(body))
        except ServiceError as error:
            return error_response(error)
        return web.Response(
            body=speech.audio,
            headers={
                "Content-Type": speech.content_type,
                "x-amzn-RequestCharacters": str(speech.billed_characters),
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )
