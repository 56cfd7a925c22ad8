"""What `make bench` measures: every benchmark's runs, summed up into one results dict
(bench/report.py writes docs/BENCHMARKS.md from it, bench/plots.py its figures)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Quiet: the functions measured in process would log and emit metrics per call.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from bench import consumer, cost, e2e, engines, fanout, fanout_sim, faults, long_talk, quality
from bench.stats import summary
from local.paths import ROOT

RESULTS = ROOT / "bench" / "results"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {platform.system()}, "
        f"Python {platform.python_version()}"
    )


def median_of(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(value)
    return round(statistics.median(values), 1)


def median_p50_p95(runs: list[dict[str, Any]], *path: str) -> dict[str, float]:
    """Across runs, the median of each run's median and of each run's p95."""
    return {q: median_of(runs, *path, q) for q in ("p50", "p95")}


def summarize_fanout(fanout_runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per listener count, the median over runs (clips that reached every listener only)."""
    fanout_sizes: dict[str, dict[str, Any]] = {}
    for size in fanout_runs[0]["sizes"]:
        n = size["listeners"]
        same = [next(s for s in r["sizes"] if s["listeners"] == n) for r in fanout_runs]
        fanout_sizes[str(n)] = {
            "first_to_last_ms_p50": round(statistics.median(s["first_to_last_ms_p50"] for s in same), 1),
            "processor_deliver_ms_p50": statistics.median(
                [s["processor_deliver_ms_p50"] for s in same if s["processor_deliver_ms_p50"] is not None]
                or [0]
            ),
            "messages_per_second": statistics.median([s["messages_per_second"] or 0 for s in same]),
            "clips_reaching_all": min(s["clips_reaching_all"] for s in same),
            "clips": min(s["clips"] for s in same),
        }
    return fanout_sizes


def rerun(parts: list[str]) -> dict[str, Any]:
    """Measures `parts` (e2e, fanout, concurrency, fanout_sim, faults, long_talk) again; updates today's
    full results."""
    # The newest full run; the figures measured again today are saved with today's date.
    newest = max(p for p in RESULTS.glob("????-??-??.json"))
    results: dict[str, Any] = json.loads(newest.read_text())
    path = RESULTS / f"{dt.date.today().isoformat()}.json"
    measured_on = results.get("measured_on", results["date"])
    if "fanout_sim" in parts:
        print("fan-out, simulated AWS ...", flush=True)
        results.update(simulated_fanout(fanout_sim.measure()))
    if "faults" in parts:
        print("session worker faults ...", flush=True)
        results.update(faults.measure())
    if "long_talk" in parts:
        print("a long talk ...", flush=True)
        results["long_talk"] = long_talk.measure(long_talk.CAPTURE, long_talk.WINDOW_S)
    if {"fanout", "concurrency", "e2e"} & set(parts):  # these need the local stack
        with e2e.bench_stack() as (base, log):
            if "e2e" in parts:
                print("end to end ...", flush=True)
                capture = results.get("capture", "en-keynote")
                runs = [e2e.measure(base, log, capture, [1, 2], runs=1) for _ in range(3)]
                results.update(e2e_figures(runs, [1, 2]))
            if "fanout" in parts:
                print("fan-out ...", flush=True)
                results["fanout"] = summarize_fanout(
                    [fanout.measure(base, log, [10, 100, 1000]) for _ in range(2)]
                )
                results["fanout_1000_ms"] = results["fanout"]["1000"]["first_to_last_ms_p50"]
            if "concurrency" in parts:
                print("concurrency ...", flush=True)
                results["concurrency"] = e2e.concurrency(base, "en-welcome", max_sessions=8)
    results["costs"], results["clip_delivery_5000_listeners"] = cost_figures(), clip_delivery_5000()
    today = dt.date.today().isoformat()
    results["concurrency_rerun_note"] = (
        f"{' and '.join(parts)} re-measured on {today} with `python -m bench.run --rerun {','.join(parts)}`; "
        f"the other figures are those of the full run of {measured_on}"
    )
    results["measured_on"], results["date"] = measured_on, today
    path.write_text(json.dumps(results, indent=2) + "\n")
    return results


def simulated_fanout(measured: dict[str, Any]) -> dict[str, Any]:
    """The headline keys of bench/fanout_sim.py's figures, and the figures."""
    return {
        "fanout_sim": measured,
        "fanout_1000_simulated_ms": measured["paged_1000"]["ms_p50"],
        "fanout_5000_simulated_ms": measured["paged_5000"]["ms_p50"],
        "fanout_5000_simulated_peak_in_flight": measured["paged_5000"]["peak_in_flight"],
        "fanout_page_1000_ms": measured["paged_1000"]["ms_p50"],
    }


def cost_figures() -> dict[str, Any]:
    """The cost model's columns (a model: no measurement, so --rerun recomputes it)."""

    def streaming(languages: int, listeners: int) -> dict[str, float]:
        return cost.streaming_session_hour_cost(
            cost.StreamingUsage(target_languages=languages, listeners=listeners)
        )

    return {
        "1": streaming(1, 100),
        "3": streaming(3, 100),
        "3_1000_listeners": streaming(3, 1000),
        "3_5000_listeners": streaming(3, 5000),
        # The fixed 3 s batches this replaced, for comparison.
        "batches_1": cost.session_hour_cost(cost.Usage(target_languages=1, listeners=100)),
        "batches_3": cost.session_hour_cost(cost.Usage(target_languages=3, listeners=100)),
    }


def clip_delivery_5000() -> dict[str, float]:
    delivery = cost.clip_delivery_cost(cost.StreamingUsage(target_languages=3, listeners=5000))
    return {"s3_direct": delivery.s3_direct, "cloudfront": delivery.cloudfront, "saving": delivery.saving}


@dataclass(frozen=True)
class Measurements:
    """One bench run's raw measurements, before they are summed up."""

    quick: bool
    capture: str
    repeats: int
    languages: list[int]
    consumer_runs: list[dict[str, Any]]
    engine_run: dict[str, Any]
    e2e_runs: list[dict[str, Any]]
    fanout_runs: list[dict[str, Any]]
    concurrency: dict[str, Any]
    caption_quality: dict[str, Any]
    simulated: dict[str, Any]
    faults: dict[str, Any]
    long_talk: dict[str, Any] | None  # a full run's only: 15 minutes of talk


def measure(quick: bool) -> Measurements:
    repeats = 1 if quick else 3
    capture = "en-welcome" if quick else "en-keynote"
    languages = [1, 2] if quick else [1, 2, 4]

    print("ingestion ...", flush=True)
    consumer_runs = [consumer.run(sessions=4 if quick else 14) for _ in range(repeats)]
    print("speech engines ...", flush=True)
    engine_run = engines.run(capture, ["es", "fr", "it", "pt", "en"])
    with e2e.bench_stack() as (base, log):
        print("end to end ...", flush=True)
        e2e_runs = [e2e.measure(base, log, capture, languages, runs=1) for _ in range(repeats)]
        print("fan-out ...", flush=True)
        sizes = [10, 100] if quick else [10, 100, 1000]
        fanout_runs = [fanout.measure(base, log, sizes) for _ in range(1 if quick else 2)]
        print("concurrency ...", flush=True)
        concurrency = e2e.concurrency(base, "en-welcome", max_sessions=2 if quick else 8)
    print("caption quality ...", flush=True)
    caption_quality = quality.run(capture)
    print("fan-out, simulated AWS ...", flush=True)
    simulated = simulated_fanout(fanout_sim.measure(runs=1 if quick else 3))
    print("session worker faults ...", flush=True)
    worker_faults = faults.measure()
    talk = None
    if not quick:
        print("a long talk ...", flush=True)
        talk = long_talk.measure(long_talk.CAPTURE, long_talk.WINDOW_S)
    return Measurements(
        quick, capture, repeats, languages, consumer_runs, engine_run, e2e_runs, fanout_runs,
        concurrency, caption_quality, simulated, worker_faults, talk,
    )  # fmt: skip


def run_all(quick: bool) -> dict[str, Any]:
    started = time.monotonic()
    m = measure(quick)
    e2e_runs = m.e2e_runs
    fit_all = [ratio for run in e2e_runs for ratio in run["fit_ratios_all"]]
    fanout_sizes = summarize_fanout(m.fanout_runs)
    costs = cost_figures()
    return {
        **m.simulated,
        **m.faults,
        "date": dt.date.today().isoformat(),
        "mode": "quick" if m.quick else "full",
        "machine": machine(),
        "capture": m.capture,
        "repeats": m.repeats,
        "consumer_ms_p50": median_of(m.consumer_runs, "consumer_ms_p50"),
        "consumer_ms_p95": median_of(m.consumer_runs, "consumer_ms_p95"),
        "consumer_batches_per_run": m.consumer_runs[0]["batches"],
        # From the chunk that completes an utterance's audio to its caption and its voice.
        **e2e_figures(e2e_runs, m.languages),
        "clip_fit_ratio_p50": summary(fit_all, 3).get("p50"),
        "clip_fit_ratio_p95": summary(fit_all, 3).get("p95"),
        "clip_fit_ratio_max": max(fit_all, default=None),
        "clip_fit_by_language": e2e_runs[len(e2e_runs) // 2]["fits"],  # the middle run's
        "recognition_streams_per_session_hour": cost.StreamingUsage().recognition_streams,
        "caption_quality": m.caption_quality,
        **({"long_talk": m.long_talk} if m.long_talk else {}),
        "engines": m.engine_run,
        "fanout": fanout_sizes,
        "fanout_1000_ms": fanout_sizes.get("1000", {}).get("first_to_last_ms_p50"),
        "concurrency": m.concurrency,
        "cost_usd_per_session_hour_1lang": costs["1"]["total"],
        "cost_usd_per_session_hour_3lang": costs["3"]["total"],
        "costs": costs,
        "clip_delivery_5000_listeners": clip_delivery_5000(),
        "cost_prices_date": cost.PRICES_DATE,
        "seed_claims": {"e2e_seconds": "5-7", "usd_per_session_hour": cost.SEED_CLAIM_USD_PER_SESSION_HOUR},
        "duration_s": round(time.monotonic() - started),
    }


def e2e_by_languages(e2e_runs: list[dict[str, Any]], languages: list[int]) -> dict[str, Any]:
    metrics = (
        "message_ms", "caption_ms", "playable_ms", "from_batch_start_ms", "first_word_to_caption_ms",
        "word_to_caption_ms",
    )  # fmt: skip
    return {
        str(n): {metric: median_p50_p95(e2e_runs, "by_languages", str(n), metric) for metric in metrics}
        for n in languages
    }


def e2e_figures(e2e_runs: list[dict[str, Any]], languages: list[int]) -> dict[str, Any]:
    """The end-to-end keys of the results, from e2e.measure's runs."""
    by_languages = e2e_by_languages(e2e_runs, languages)
    return {
        "utterance_to_message_ms_p50": by_languages["1"]["message_ms"]["p50"],
        "utterance_to_message_ms_p95": by_languages["1"]["message_ms"]["p95"],
        "e2e_ms_p50": by_languages["1"]["message_ms"]["p50"],
        "e2e_ms_p95": by_languages["1"]["message_ms"]["p95"],
        "utterance_ms": median_p50_p95(e2e_runs, "by_languages", "1", "utterance_ms"),
        **caption_and_voice(by_languages),
        "e2e_by_languages": by_languages,
        # One run's words over the talk (the first, 1 language): (s into the talk, lag in ms).
        "word_lags_1lang": e2e_runs[0].get("word_lags", {}).get("1", []),
        "stages_ms": {
            stage: median_p50_p95(e2e_runs, "stages_ms", stage) for stage in e2e_runs[0]["stages_ms"]
        },
    }


def caption_and_voice(by_languages: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    """Utterance end -> its caption (translatedText) and its voice (translatedAudio) at a
    listener, and the utterance's first word -> its caption; for 1 and 2 languages (the
    2-language keys end in _2lang)."""
    figures: dict[str, float] = {}
    for count, suffix in (("1", ""), ("2", "_2lang")):
        for key, metric in (
            ("utterance_to_caption_ms", "caption_ms"),
            ("utterance_to_voice_ms", "message_ms"),
            ("first_word_to_caption_ms", "first_word_to_caption_ms"),
            ("word_to_caption_ms", "word_to_caption_ms"),  # provisional captions count (§15)
        ):
            for percentile in ("p50", "p95"):
                value = by_languages.get(count, {}).get(metric, {}).get(percentile)
                if value is not None:
                    figures[f"{key}_{percentile}{suffix}"] = value
    return figures
