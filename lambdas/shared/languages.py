"""The one table of supported languages: protocol validation, Transcribe, Translate, Polly.

`transcribe` is the Transcribe streaming locale when the language can be spoken by a
speaker (None: target only). `polly` is the voice and the engine it really supports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # what clients send; also the Amazon Translate code
    native_name: str
    transcribe: str | None
    polly_voice: str
    polly_engine: str  # "neural" or "standard"
    # Bilingual voices (Kajal speaks en-IN and hi-IN) need the language named.
    polly_language: str | None = None


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", "en-US", "Joanna", "neural"),
        Language("es", "Español", "es-US", "Lucia", "neural"),
        Language("fr", "Français", "fr-FR", "Lea", "neural"),
        Language("de", "Deutsch", "de-DE", "Vicki", "neural"),
        Language("it", "Italiano", "it-IT", "Bianca", "neural"),
        Language("pt", "Português", "pt-BR", "Camila", "neural"),
        Language("ja", "日本語", "ja-JP", "Takumi", "neural"),
        Language("ko", "한국어", "ko-KR", "Seoyeon", "neural"),
        Language("zh", "中文", "zh-CN", "Zhiyu", "neural"),
        Language("hi", "हिन्दी", "hi-IN", "Kajal", "neural", "hi-IN"),
        Language("nl", "Nederlands", None, "Laura", "neural"),
        Language("ca", "Català", None, "Arlet", "neural"),
    )
}


def is_source_language(code: object) -> bool:
    return isinstance(code, str) and code in LANGUAGES and LANGUAGES[code].transcribe is not None


def is_target_language(code: object) -> bool:
    return isinstance(code, str) and code in LANGUAGES
