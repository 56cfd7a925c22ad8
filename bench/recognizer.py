"""The offline recognizer on the committed captures: Whisper base on the VAD's pieces,
with the 10 s encoder window `make local` uses against faster-whisper's own 30 s one.

Each capture's chunks are decoded once to 16 kHz PCM, cut by the same streaming VAD as
the local recognizer and the local Transcribe endpoint, and every piece is transcribed
with each window in turn (interleaved, so a noisy neighbour hurts both alike). Reported:
ms per piece (p50, p95) and the word error rate of the joined text against the
capture's script.

    .venv/bin/python -m bench.recognizer [--captures en-welcome en-keynote] [--passes 2]"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import local  # noqa: F401 - puts the Lambda packages on the import path
from bench.stats import summary
from local.engines.vad_stream import StreamingVad
from local.engines.whisper import WhisperTranscriber
from local.kit.captures import capture
from local.kit.wer import word_error_rate
from shared.languages import LANGUAGES

RATE = 16000
WINDOWS = (10, 30)
CAPTURES_MEASURED = ("en-welcome", "en-keynote", "en-talk-4min")


def pieces(pcm: bytes) -> list[bytes]:
    vad = StreamingVad()
    segments = vad.feed(pcm) + vad.flush()
    return [segment.slice(pcm) for segment in segments]


def run(captures: list[str], passes: int) -> dict[str, Any]:
    english = LANGUAGES["en"]
    recognizers = {window: WhisperTranscriber(window_s=window) for window in WINDOWS}
    for recognizer in recognizers.values():
        recognizer.transcribe(b"\0\0" * RATE, RATE, english)  # loads the model
        recognizer.full_window_decodes = 0
    times: dict[int, list[float]] = {window: [] for window in WINDOWS}
    wer: dict[int, dict[str, float]] = {window: {} for window in WINDOWS}
    counted = 0
    for name in captures:
        script = capture(name).script()
        cut = pieces(capture(name).pcm)
        counted += len(cut)
        for _ in range(passes):
            texts: dict[int, list[str]] = {window: [] for window in WINDOWS}
            for piece in cut:
                for window, recognizer in recognizers.items():
                    started = time.perf_counter()
                    texts[window].append(recognizer.transcribe(piece, RATE, english))
                    times[window].append((time.perf_counter() - started) * 1000)
            for window in WINDOWS:
                wer[window][name] = round(100 * word_error_rate(script, " ".join(texts[window])), 1)
    return {
        "captures": captures,
        "pieces": counted,
        "passes": passes,
        "by_window_s": {
            str(window): {
                "ms_per_piece": summary(times[window]),
                "wer_percent": wer[window],
                "full_window_decodes": recognizers[window].full_window_decodes,
            }
            for window in WINDOWS
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--captures", nargs="+", default=list(CAPTURES_MEASURED))
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(run(args.captures, args.passes), indent=2))
