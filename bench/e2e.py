"""End-to-end latency on the local stack: a speaker streams a browser capture at the pace
it was recorded; listeners in 1..N languages. For each batch: from the moment the speaker
sent the chunk that completes the batch's audio to the `translatedText` (the caption) and
`translatedAudio` messages at the listener, and to the clip's first byte. Per-stage times
come from the processor's reports.

    .venv/bin/python -m bench.e2e [--capture en-keynote] [--languages 1 2 4] [--runs 1]"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from bench.live_text import word_lags
from bench.stats import summary
from local.kit.captures import Capture
from local.kit.captures import capture as named_capture
from local.kit.client import ProtocolClient, speaker_session
from local.process import running_local_stack
from local.runner import LOCAL_RECOGNIZER, env_names

TARGETS = ["es", "fr", "it", "pt"]
# Per message, in ms: utterance end -> translatedAudio (message) and -> translatedText
# (caption); the clip's first byte (playable); from the utterance's first chunk to each.
MEASURED = (
    "message_ms", "caption_ms", "playable_ms",
    "from_batch_start_ms", "first_word_to_caption_ms", "utterance_ms", "word_to_caption_ms",
)  # fmt: skip


async def one_run(base: str, capture: Capture, languages: list[str]) -> dict[str, Any]:
    timings = capture.timings_ms
    url = base.replace("http://", "ws://") + "/ws"
    async with aiohttp.ClientSession() as http:
        speaker, session_id = await speaker_session(http, base, title="bench")
        listeners = {}
        for language in languages:
            listeners[language] = await ProtocolClient.connect(http, url)
            await listeners[language].send(
                {"action": "joinSession", "sessionId": session_id, "targetLanguage": language}
            )
            await listeners[language].wait_for("sessionJoined")
        loop = asyncio.get_running_loop()
        sent_at = await speaker.stream_capture(session_id, capture)
        await speaker.send({"action": "endSession", "sessionId": session_id})
        for client in listeners.values():  # the flush and the last clips
            with contextlib.suppress(AssertionError):  # a run with no clip at all is reported as such
                await client.wait_for("translatedAudio", timeout=120.0)
            await client.wait_until_quiet(quiet=10.0, timeout=120.0)  # under load, clips come late
        message_ms: list[float] = []
        caption_ms: list[float] = []
        playable_ms: list[float] = []
        from_start_ms: list[float] = []  # from the utterance's first chunk: what a word may wait
        first_word_caption_ms: list[float] = []  # the same, to its caption
        # (message type, utterance index, its talk time, utterance end -> the message)
        timeline: list[tuple[str, int, int, float]] = []
        lags: list[list[tuple[float, float]]] = []  # per listener: (word end in the talk, its lag)

        def spoken_at(ms: float) -> float:
            """When the chunk completing the talk's audio up to `ms` was sent: the first chunk
            recorded at or after `ms` (the last if none; chunk times only grow)."""
            return sent_at[min(bisect.bisect_left(timings, ms), len(timings) - 1)]

        for client in listeners.values():
            lags.append(word_lags(list(zip(client.received, client.arrivals, strict=True)), spoken_at))
        first = next(iter(listeners.values()))
        utterance_ms = [float(m["durationMs"]) for m in first.of_type("translatedAudio")]

        def after_end_ms(message: dict[str, Any], arrived: float) -> float:
            """From the chunk that completes the message's utterance to its arrival."""
            return (arrived - spoken_at(message["startMs"] + message["durationMs"])) * 1000

        for message, arrived in zip(speaker.received, speaker.arrivals, strict=True):
            if message.get("type") == "transcript":  # the worker's hand-off: the processor sends it first
                latency_ms = after_end_ms(message, arrived)
                timeline.append(("transcript", message["index"], message["startMs"], latency_ms))
        for client in listeners.values():
            for message, arrived in zip(client.received, client.arrivals, strict=True):
                kind = message.get("type")
                if kind not in ("translatedText", "translatedAudio"):
                    continue
                opening = next((k for k, at in enumerate(timings) if at > message["startMs"]), 0)
                latency_ms = after_end_ms(message, arrived)
                timeline.append((kind, message["index"], message["startMs"], latency_ms))
                if kind == "translatedText":
                    caption_ms.append(latency_ms)
                    first_word_caption_ms.append((arrived - sent_at[opening]) * 1000)
                    continue
                message_ms.append(latency_ms)
                from_start_ms.append((arrived - sent_at[opening]) * 1000)
                fetch_started = loop.time()
                async with http.get(message["url"]) as response:
                    await response.content.readany()
                playable_ms.append(message_ms[-1] + (loop.time() - fetch_started) * 1000)
        for client in (speaker, *listeners.values()):
            await client.close()
    return {
        "message_ms": message_ms,
        "caption_ms": caption_ms,
        "playable_ms": playable_ms,
        "from_batch_start_ms": from_start_ms,
        "first_word_to_caption_ms": first_word_caption_ms,
        "utterance_ms": utterance_ms,
        "timeline": timeline,
        "word_to_caption_ms": [lag_ms for listener in lags for _, lag_ms in listener],
        # The first listener's words over the talk, (s, ms), for the plot.
        "word_lags": [(round(at_ms / 1000, 2), round(lag_ms)) for at_ms, lag_ms in (lags[0] if lags else [])],
    }


def processor_reports(log: Path) -> list[dict[str, Any]]:
    """The audio_processor's per-utterance reports, from the local stack's verbose log."""
    from audio_processor.observability import REPORT_LOG_MESSAGE  # after `local` put lambdas/ on the path

    reports = []
    for line in log.read_text().splitlines():
        match = re.search(r"\{.*\}", line) if f'"{REPORT_LOG_MESSAGE}"' in line else None
        if match:
            reports.append(json.loads(match.group(0)).get("report", {}))
    return reports


def fit_ratios(reports: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per language: clip length / source length at the voice's pace and as delivered."""
    by_language: dict[str, dict[str, list[float]]] = {}
    for report in reports:
        for language, fit in report.get("fits", {}).items():
            ratios = by_language.setdefault(language, {"natural": [], "fitted": []})
            ratios["natural"].append(fit["naturalRatio"])
            ratios["fitted"].append(fit["ratio"])
    return {
        language: {kind: {**summary(values, 3), "max": max(values)} for kind, values in ratios.items()}
        for language, ratios in sorted(by_language.items())
    }


def stage_times(reports: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = {}
    for report in reports:
        for stage, value in report.get("timesMs", {}).items():
            stages.setdefault(stage, []).append(value)
    return {stage: summary(values) for stage, values in stages.items()}


# Every client connects from 127.0.0.1: lift the per-address and per-session limits.
BENCH_LIMITS = {"MAX_LISTENERS_PER_SESSION": "5000", "JOINS_PER_IP_PER_MINUTE": "1000000"}
# The benches time the pipeline, so they keep the in-process recognizer that earlier figures
# were measured with (no simulated Transcribe lag on top); RECOGNIZER=aws measures that path.
BENCH_RECOGNIZER = LOCAL_RECOGNIZER


@contextlib.contextmanager
def bench_stack() -> Iterator[tuple[str, Path]]:
    """One local stack for every benchmark of a run, with the processor's reports logged."""
    os.environ.update(BENCH_LIMITS)
    os.environ.setdefault(env_names.RECOGNIZER, BENCH_RECOGNIZER)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "local.log"
        with running_local_stack(log, verbose=True) as base:
            yield base, log


def measure(base: str, log: Path, capture: str, language_counts: list[int], runs: int) -> dict[str, Any]:
    """Latency per number of languages, and the processor's stage times meanwhile."""
    results: dict[str, Any] = {"capture": capture, "runs": runs, "by_languages": {}}
    first_report = len(processor_reports(log))
    for count in language_counts:
        merged: dict[str, list[float]] = {key: [] for key in MEASURED}
        for _ in range(runs):
            outcome = asyncio.run(one_run(base, named_capture(capture), TARGETS[:count]))
            for key in merged:
                merged[key].extend(outcome[key])
            results.setdefault("word_lags", {}).setdefault(str(count), outcome["word_lags"])
        results["by_languages"][str(count)] = {k: summary(v) for k, v in merged.items()}
    time.sleep(1)  # the last reports reach the log
    reports = processor_reports(log)[first_report:]
    results["stages_ms"] = stage_times(reports)
    results["fits"] = fit_ratios(reports)
    results["fit_ratios_all"] = [
        fit["ratio"] for report in reports for fit in report.get("fits", {}).values()
    ]  # fmt: skip
    return results


async def parallel_sessions(base: str, capture: Capture, sessions: int) -> list[float]:
    outcomes = await asyncio.gather(*(one_run(base, capture, ["es"]) for _ in range(sessions)))
    return [ms for outcome in outcomes for ms in outcome["message_ms"]]


def concurrency(base: str, capture: str, max_sessions: int = 8) -> dict[str, Any]:
    """Sessions in parallel (one Spanish listener each), doubling until the median latency doubles."""
    steps: list[dict[str, Any]] = []
    baseline: float | None = None
    count = 1
    while count <= max_sessions:
        latencies = asyncio.run(parallel_sessions(base, named_capture(capture), count))
        if not latencies:
            steps.append({"sessions": count, "clips": 0})
            break
        median = statistics.median(latencies)
        baseline = baseline or median
        steps.append({"sessions": count, **summary(latencies)})
        if median >= 2 * baseline:
            break
        count *= 2
    return {"capture": capture, "steps": steps, "baseline_p50": round(baseline or 0)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--capture", default="en-keynote")
    parser.add_argument("--languages", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with bench_stack() as (stack, stack_log):
        print(json.dumps(measure(stack, stack_log, args.capture, args.languages, args.runs), indent=2))
