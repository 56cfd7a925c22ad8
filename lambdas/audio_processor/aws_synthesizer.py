"""Synthesizer on Amazon Polly: MP3 in the voice and engine the language table names."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from audio_processor.retry import Retryable, retryable_client_error
from shared.languages import Language

# Polly bills and accepts at most 3,000 characters of plain text per request.
MAX_REQUEST_CHARS = 2_900
# A sentence with its closing punctuation and the space after it (CJK has none).
_SENTENCE = re.compile("[^.!?\u3002\uff01\uff1f]*(?:[.!?\u3002\uff01\uff1f]+\\s*|$)")


def split_for_polly(text: str, limit: int = MAX_REQUEST_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut after sentences where possible."""
    pieces: list[str] = []
    current = ""
    for sentence in (m.group(0) for m in _SENTENCE.finditer(text.strip()) if m.group(0)):
        while len(sentence) > limit:  # one endless sentence: cut at the last space
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].lstrip()
        if current and len(current) + len(sentence.rstrip()) > limit:
            pieces.append(current.strip())
            current = ""
        current += sentence
    if current.strip():
        pieces.append(current.strip())
    return pieces


def prosody_ssml(text: str, rate: float) -> str:
    """The text, escaped, spoken at `rate` times the voice's pace. Every Polly engine
    (standard, neural, long-form, generative) takes `<prosody rate="n%">`, 20-200 %;
    generative only around whole sentences, which a whole utterance is. Tags are not
    billed, so the request costs what the plain text costs."""
    return f'<speak><prosody rate="{round(rate * 100)}%">{escape(text)}</prosody></speak>'


class AwsSynthesizer:
    """Plain text at the voice's own pace; SSML only to change the rate, with the text
    escaped (a transcript is never markup). MP3 frames concatenate, so long text is
    spoken in several requests and joined."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def synthesize(self, text: str, language: Language, rate: float = 1.0) -> bytes:
        return b"".join(self._request(piece, language, rate) for piece in split_for_polly(text))

    def _request(self, text: str, language: Language, rate: float) -> bytes:
        ssml = rate != 1.0
        request: dict[str, Any] = {
            "Text": prosody_ssml(text, rate) if ssml else text,
            "TextType": "ssml" if ssml else "text",
            "OutputFormat": "mp3",
            "VoiceId": language.polly_voice,
            "Engine": language.polly_engine,
        }
        if language.polly_language:
            request["LanguageCode"] = language.polly_language
        try:
            stream = self._client.synthesize_speech(**request)["AudioStream"]
            try:
                return bytes(stream.read())
            finally:
                stream.close()
        except Exception as error:
            if retryable_client_error(error):
                raise Retryable(f"polly: {error}") from error
            raise
