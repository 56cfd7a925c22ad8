"""Does each utterance cost the same at the end of a long talk as at its start?

    .venv/bin/python -m bench.long_talk [--capture en-talk-15min] [--window-s 120]

One speaker streams a long browser capture through the local stack at the pace it was
recorded, one Spanish listener. Reported per window of the talk (by where the utterance
starts): utterance end -> caption and -> voice at the listener (p50 / p95, ms), and the
processor's stage times per window from its reports, so that a stage whose time grows
with the talk shows which one it is."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from typing import Any

from bench.e2e import bench_stack, one_run, processor_reports
from bench.stats import summary
from local.kit.captures import capture as capture_named

# The speaker's transcript leaves the processor before any translation: up to it, the wait is
# the recognizer's and the worker's; from it to the caption, the processor's.
MESSAGES = {"transcript": "transcript_ms", "translatedText": "caption_ms", "translatedAudio": "voice_ms"}
CAPTURE = "en-talk-15min"
WINDOW_S = 120


Timeline = list[tuple[str, int, int, float]]  # bench.e2e.one_run's: type, index, startMs, latency


def window_name(window: int, window_ms: int) -> str:
    return f"{window * window_ms // 1000}-{(window + 1) * window_ms // 1000} s"


def by_window(timeline: Timeline, window_ms: int) -> dict[str, dict[str, Any]]:
    """Latencies grouped by the window of the talk their utterance starts in."""
    grouped: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for kind, _, start_ms, latency_ms in timeline:
        if kind in MESSAGES:
            grouped[start_ms // window_ms][MESSAGES[kind]].append(latency_ms)
    return {
        window_name(window, window_ms): {name: summary(values) for name, values in sorted(series.items())}
        for window, series in sorted(grouped.items())
    }


def stages_by_window(
    reports: list[dict[str, Any]], timeline: Timeline, window_ms: int
) -> dict[str, dict[str, float]]:
    """Each processor stage's median time per window (a report names its utterance's index)."""
    start_of = {index: start_ms for _, index, start_ms, _ in timeline}
    grouped: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for report in reports:
        if report.get("index") not in start_of:
            continue
        for stage, ms in report.get("timesMs", {}).items():
            grouped[start_of[report["index"]] // window_ms][stage].append(float(ms))
    return {
        window_name(window, window_ms): {stage: summary(values)["p50"] for stage, values in series.items()}
        for window, series in sorted(grouped.items())
    }


def measure(capture: str, window_s: int) -> dict[str, Any]:
    with bench_stack() as (base, log):
        first_report = len(processor_reports(log))
        outcome = asyncio.run(one_run(base, capture_named(capture), ["es"]))
        time.sleep(1)  # the last reports reach the log
        reports = processor_reports(log)[first_report:]
    window_ms = window_s * 1000
    return {
        "capture": capture,
        "window_s": window_s,
        "latency_by_window": by_window(outcome["timeline"], window_ms),
        "stages_by_window": stages_by_window(reports, outcome["timeline"], window_ms),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--capture", default=CAPTURE)
    parser.add_argument("--window-s", type=int, default=WINDOW_S)
    args = parser.parse_args()
    print(json.dumps(measure(args.capture, args.window_s), indent=2))
