"""audio_processor's own time per utterance, by stage, with the AI services faked at the SDK
boundary (instant answers) over moto S3/DynamoDB in process.

    .venv/bin/python -m bench.processor [--batches 60] [--languages 2] [--listeners 10]

What it measures is the code between the services: the listener query, idempotency
records, S3 put + presign, the delivery ledger, message fan-out and our threading.
The service latencies on AWS come on top; docs/BENCHMARKS.md gives the budget."""

from __future__ import annotations

import argparse
import io
import json
import os

# Quiet: the per-batch logs and EMF lines of the handler would drown the result.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
import platform
import statistics
from typing import Any

import boto3
from moto import mock_aws

from bench.stats import percentile
from local.kit.captures import capture
from local.kit.processor import SESSION, Processor, encode_mp3
from local.paths import ffmpeg_path
from shared.audio_unit import UtteranceUnit

LANGUAGE_ORDER = ["es", "fr", "de", "it", "pt", "ja", "ko", "zh", "nl", "ca"]
PIECE_MS = 3000


def run(batches: int, languages: int, listeners: int) -> dict[str, Any]:
    # Whole 3 s pieces of the talk, as utterance-sized audio; the shorter last one is left out.
    pieces = capture("en-welcome").pieces(PIECE_MS)
    speech = [n for n, piece in enumerate(pieces) if len(piece) == len(pieces[0])]
    mp3 = encode_mp3(ffmpeg_path(), pieces[0][16000:64000])
    targets = LANGUAGE_ORDER[:languages]
    reports: list[dict[str, Any]] = []
    with mock_aws():
        processor = Processor(boto3.Session(region_name="us-east-1"), language_workers=8)
        processor.translate.deactivate()
        processor.polly.deactivate()
        processor.translate_client.translate_text = lambda **r: {
            "TranslatedText": f"[{r['TargetLanguageCode']}]"
        }
        processor.polly_client.synthesize_speech = lambda **r: {"AudioStream": io.BytesIO(mp3)}
        for language in targets:
            for n in range(listeners):
                processor.listen(f"{language}-{n}", language)
        for index in range(batches + 3):  # three warm-up batches are not counted
            unit = UtteranceUnit(
                session_id=SESSION,
                index=index,
                start_ms=speech[index % len(speech)] * PIECE_MS,
                duration_ms=PIECE_MS,
                source_language="en",
                text="Good morning everyone. Welcome.",
            )
            report = processor.invoke(unit.payload())
            if index >= 3:
                reports.append(report)
    stages = ["translate", "synthesize", "store", "deliver", "total"]
    return {
        "batches": len(reports),
        "languages": languages,
        "listeners_per_language": listeners,
        "stage_ms_p50": {s: round(statistics.median(r["timesMs"][s] for r in reports), 1) for s in stages},
        "stage_ms_p95": {s: round(percentile([r["timesMs"][s] for r in reports], 0.95), 1) for s in stages},
        "messages_per_batch": reports[-1]["messagesSent"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--languages", type=int, default=2)
    parser.add_argument("--listeners", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.batches, args.languages, args.listeners), indent=2))
