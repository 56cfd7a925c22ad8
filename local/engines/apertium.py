"""Translator on Apertium (Debian packages): rule-based, gist quality, fully offline.

Pairs without a direct Apertium mode go through Spanish, the hub of the installed pairs."""

from __future__ import annotations

import subprocess

from shared.languages import Language

# (source, target) -> Apertium mode, for the Debian packages `make local` installs.
DIRECT_MODES = {
    ("en", "es"): "eng-spa",
    ("es", "en"): "spa-eng",
    ("es", "fr"): "es-fr",
    ("fr", "es"): "fr-es",
    ("es", "pt"): "es-pt_BR",
    ("pt", "es"): "pt-es",
    ("es", "it"): "spa-ita",
    ("it", "es"): "ita-spa",
    ("es", "ca"): "spa-cat",
    ("en", "ca"): "eng-cat",
}
HUB = "es"


def route(source: str, target: str) -> list[str] | None:
    """The Apertium modes that take `source` text to `target`, or None."""
    if (source, target) in DIRECT_MODES:
        return [DIRECT_MODES[(source, target)]]
    if (source, HUB) in DIRECT_MODES and (HUB, target) in DIRECT_MODES:
        return [DIRECT_MODES[(source, HUB)], DIRECT_MODES[(HUB, target)]]
    return None


class ApertiumTranslator:
    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self._timeout = timeout_seconds

    def translate(self, text: str, source: Language, target: Language) -> str:
        modes = route(source.code, target.code)
        if modes is None:
            raise ValueError(f"the local engines cannot translate {source.code} into {target.code}")
        for mode in modes:
            # -u: no '*' marks on unknown words; listeners hear the word as it was said.
            text = subprocess.run(
                ["apertium", "-u", mode],
                input=text,
                capture_output=True,
                text=True,
                check=True,
                timeout=self._timeout,
            ).stdout.strip()
        return text
