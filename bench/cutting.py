"""How early to cut a running sentence: the wait it saves against the translation it costs.

    .venv/bin/python -m bench.cutting [--capture en-keynote]

The talk goes once through the production recognizer adapter (aws_recognizer.py) and the
local Transcribe streaming endpoint (partials on the audio's clock, so the same results
on any machine), and the recorded results are cut by the worker's `UtteranceCutter`
under several settings. Each cut is translated by the offline translator utterance by
utterance and scored against the capture's human references (sacrebleu BLEU, whole
talk). The wait is per word, in the talk's time: from the end of the word to the moment
its utterance could be handed on (the end of the audio of the result it was cut from),
so a recognizer's own lag (Transcribe's ~1 s) comes on top, the same for every setting."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sacrebleu

from local.endpoints.transcribe_streaming import EndpointSettings, TranscribeStreamingEndpoint
from local.engines import shared_engines
from local.kit.captures import capture as capture_named
from s3_audio_consumer.aws_recognizer import AwsRecognizer, StreamSettings
from s3_audio_consumer.transcribe_sdk import transcribe_client
from s3_audio_consumer.utterances import MAX_UTTERANCE_MS, MIN_CLAUSE_MS, StreamResult, UtteranceCutter
from shared.languages import LANGUAGES

TARGETS = ("es", "fr")
CLOSE_WAIT_S = 600.0  # every partial is a Whisper run: a bound, not a figure


@dataclass(frozen=True)
class Setting:
    name: str
    min_clause_ms: int
    max_utterance_ms: int


SETTINGS = (
    Setting("pauses only (no early cut)", 60_000, 60_000),
    Setting("clause >= 4 s, forced at 6 s (chosen)", 4000, MAX_UTTERANCE_MS),
    Setting("clause >= 2.5 s, forced at 6 s", 2500, MAX_UTTERANCE_MS),
    Setting("clause >= 1.5 s, forced at 6 s (before)", 1500, MAX_UTTERANCE_MS),
    Setting("clause >= 1 s, forced at 6 s", 1000, MAX_UTTERANCE_MS),
    Setting("clause >= 4 s, forced at 5 s", 4000, 5000),
)
assert (MIN_CLAUSE_MS, MAX_UTTERANCE_MS) == (4000, 6000), "the settings above name the worker's"


def record(capture: str) -> list[StreamResult]:
    """The capture's results from the production adapter against the local endpoint."""
    os.environ.setdefault("AWS_REGION", "us-east-1")  # the endpoint checks signatures, not accounts
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    pcm = capture_named(capture).pcm
    settings = EndpointSettings(partial_clock="audio", partial_interval_s=1.0)
    endpoint = TranscribeStreamingEndpoint(settings).start(warm_up=True)
    try:
        client = transcribe_client(os.environ["AWS_REGION"], endpoint.base_url, endpoint.ca_file)
        stream = AwsRecognizer(lambda: client, StreamSettings()).start(LANGUAGES["en"], 16000)
        stream.send(pcm)
        return stream.close(CLOSE_WAIT_S)
    finally:
        endpoint.stop()


@dataclass(frozen=True)
class Cutting:
    texts: list[str]
    durations_ms: list[int]
    waits_ms: list[int]  # per word: its end to its utterance's hand-on


def cut(results: Sequence[StreamResult], setting: Setting) -> Cutting:
    cutter = UtteranceCutter(min_clause_ms=setting.min_clause_ms, max_utterance_ms=setting.max_utterance_ms)
    texts, durations, waits = [], [], []
    for result in [*results, None]:
        utterances = cutter.feed(result) if result is not None else cutter.flush()
        handed_ms = round(result.end_s * 1000) if result is not None else round(results[-1].end_s * 1000)
        for utterance in utterances:
            texts.append(utterance.text)
            durations.append(utterance.duration_ms)
            words = max(1, len(utterance.text.split()))
            # The utterance's words spread over its span, as the recognizer's times are.
            ends = [utterance.start_ms + utterance.duration_ms * (n + 1) / words for n in range(words)]
            waits += [max(0, round(handed_ms - end)) for end in ends]
    return Cutting(texts, durations, waits)


def score(capture: str, cutting: Cutting) -> dict[str, object]:
    translator = shared_engines().translator
    english = LANGUAGES["en"]
    row: dict[str, object] = {
        "utterances": len(cutting.texts),
        "utterance_ms_p50": int(np.percentile(cutting.durations_ms, 50)),
        "word_wait_ms_p50": int(np.percentile(cutting.waits_ms, 50)),
        "word_wait_ms_p95": int(np.percentile(cutting.waits_ms, 95)),
    }
    for code in TARGETS:
        translated = " ".join(translator.translate(text, english, LANGUAGES[code]) for text in cutting.texts)
        reference = capture_named(capture).reference(code)
        row[f"bleu_{code}"] = round(sacrebleu.corpus_bleu([translated], [[reference]]).score, 1)
    return row


def run(capture: str = "en-keynote") -> dict[str, dict[str, object]]:
    results = record(capture)
    return {setting.name: score(capture, cut(results, setting)) for setting in SETTINGS}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--capture", default="en-keynote")
    print(json.dumps(run(parser.parse_args().capture), indent=2))
