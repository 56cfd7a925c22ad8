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


@dataclass(frozen=True)
class ServedPairs:
    """The (source, target) pairs this deployment translates. On AWS every pair of the
    table is served; the local runner's offline engines serve fewer, and says which with
    LANGUAGE_PAIRS = "en:es,fr;es:en,pt" (source: targets; a source always serves itself)."""

    pairs: frozenset[tuple[str, str]] | None = None  # None: every pair

    @classmethod
    def parse(cls, text: str) -> ServedPairs:
        if not text.strip():
            return cls()
        pairs: set[tuple[str, str]] = set()
        for group in text.split(";"):
            source, _, targets = group.partition(":")
            source = source.strip()
            if not is_source_language(source):
                raise ValueError(f"LANGUAGE_PAIRS: {source!r} is not a source language")
            pairs.add((source, source))
            for target in filter(None, (t.strip() for t in targets.split(","))):
                if not is_target_language(target):
                    raise ValueError(f"LANGUAGE_PAIRS: {target!r} is not a language")
                pairs.add((source, target))
        return cls(frozenset(pairs))

    def format(self) -> str:
        if self.pairs is None:
            return ""
        return ";".join(f"{source}:{','.join(self.targets(source))}" for source in self.sources())

    def sources(self) -> list[str]:
        if self.pairs is None:
            return [c for c in LANGUAGES if is_source_language(c)]
        return [c for c in LANGUAGES if any(s == c for s, _ in self.pairs)]

    def targets(self, source: str) -> list[str]:
        if self.pairs is None:
            return list(LANGUAGES) if is_source_language(source) else []
        return [c for c in LANGUAGES if (source, c) in self.pairs]

    def serves(self, source: str, target: str) -> bool:
        return target in self.targets(source)
