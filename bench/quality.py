"""Caption quality before and after utterance streaming, with the same offline engines.

    .venv/bin/python -m bench.quality [--capture en-keynote]

Before: the talk cut into fixed ~3 s batches (the old unit), each transcribed by Whisper
and translated by Apertium on its own. After: the same audio cut at pauses by the
streaming VAD (the local recognizer of the utterance path), each utterance transcribed
and translated on its own. Both are scored against the human reference translations
committed with the capture (sacrebleu BLEU and chrF on the whole talk, since the two
cut the talk differently) and the source WER against the script."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import sacrebleu

from local.engines import shared_engines, whisper_model
from local.engines.vad_stream import StreamingVad, VadSettings
from local.kit.captures import capture
from local.kit.wer import word_error_rate
from shared.languages import LANGUAGES

TARGETS = ("es", "fr")


@dataclass(frozen=True)
class Cut:
    name: str
    pieces: list[bytes]


def fixed_batches(name: str) -> Cut:
    return Cut("fixed 3 s batches", capture(name).pieces(3000))


def utterances(name: str) -> Cut:
    pcm = capture(name).pcm
    vad = StreamingVad(VadSettings())
    segments = []
    for offset in range(0, len(pcm), 3200):  # 100 ms pieces, as the worker feeds them
        segments += vad.feed(pcm[offset : offset + 3200])
    segments += vad.flush()
    return Cut("utterances (VAD)", [segment.slice(pcm) for segment in segments])


def score(name: str, cut: Cut) -> dict[str, object]:
    engines = shared_engines()
    english = LANGUAGES["en"]
    heard = [whisper_model().transcribe(piece, 16_000, english) for piece in cut.pieces]
    heard = [text for text in heard if text.strip()]
    talk = capture(name)
    result: dict[str, object] = {
        "pieces": len(cut.pieces),
        "source_wer": round(word_error_rate(talk.script(), " ".join(heard)), 3),
    }
    for code in TARGETS:
        translated = " ".join(engines.translator.translate(text, english, LANGUAGES[code]) for text in heard)
        reference = talk.reference(code)
        result[f"bleu_{code}"] = round(sacrebleu.corpus_bleu([translated], [[reference]]).score, 1)
        result[f"chrf_{code}"] = round(sacrebleu.corpus_chrf([translated], [[reference]]).score, 1)
    return result


def run(name: str = "en-keynote") -> dict[str, object]:
    return {cut.name: score(name, cut) for cut in (fixed_batches(name), utterances(name))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--capture", default="en-keynote")
    print(json.dumps(run(parser.parse_args().capture), indent=2))
