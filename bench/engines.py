"""The local speech engines per batch of a real capture: Whisper on each batch, then for
each target language Apertium and the voice (Piper for English, espeak-ng otherwise)
including the MP3 encode.

    .venv/bin/python -m bench.engines [--capture en-keynote] [--languages es fr it pt]"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import local  # noqa: F401 - puts the Lambda packages on the import path
from bench.stats import summary
from local.engines import shared_engines, warm_up, whisper_model
from local.kit.captures import capture as named_capture
from shared.languages import LANGUAGES


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - started) * 1000


def run(capture: str, languages: list[str]) -> dict[str, Any]:
    warm_up()
    engines = shared_engines()
    english = LANGUAGES["en"]
    asr: list[float] = []
    translate: dict[str, list[float]] = {code: [] for code in languages}
    speak: dict[str, list[float]] = {code: [] for code in languages}
    engines.synthesizer.synthesize("Warm up.", english)
    for piece in named_capture(capture).pieces(3000):
        heard, ms = timed(whisper_model().transcribe, piece, 16000, english)
        asr.append(ms)
        if not heard:
            continue
        for code in languages:
            target = LANGUAGES[code]
            text = heard
            if code != "en":
                text, ms = timed(engines.translator.translate, heard, english, target)
                translate[code].append(ms)
            _, ms = timed(engines.synthesizer.synthesize, text, target)
            speak[code].append(ms)
    return {
        "capture": capture,
        "asr_ms": summary(asr, 1),
        "translate_ms": {code: summary(v, 1) for code, v in translate.items() if v},
        "tts_ms": {code: summary(v, 1) for code, v in speak.items() if v},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--capture", default="en-keynote")
    parser.add_argument("--languages", nargs="+", default=["es", "fr", "it", "pt", "en"])
    args = parser.parse_args()
    print(json.dumps(run(args.capture, args.languages), indent=2))
