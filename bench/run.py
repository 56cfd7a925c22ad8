"""`make bench`: every benchmark, one JSON of results, docs/BENCHMARKS.md with plots.

    .venv/bin/python -m bench.run [--quick]

Full: the 79 s keynote capture, 3 runs per figure (the median is reported); --quick:
the 14.5 s capture, one run, smaller sizes (a smoke run of under 3 minutes) that writes
only its JSON, leaving docs/BENCHMARKS.md and the plots of the last full run alone."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from bench import consumer, cost, e2e, engines, fanout, fanout_sim, faults, quality
from bench.stats import summary
from local.paths import ROOT

RESULTS = ROOT / "bench" / "results"
IMAGES = ROOT / "docs" / "images"
DOC = ROOT / "docs" / "BENCHMARKS.md"
COSTS_DOC = ROOT / "docs" / "COSTS.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {platform.system()}, Python {platform.python_version()}"


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
    """Measures `parts` (e2e, fanout, concurrency, fanout_sim, faults) again; updates today's full results."""
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
    return Measurements(
        quick, capture, repeats, languages, consumer_runs, engine_run, e2e_runs, fanout_runs,
        concurrency, caption_quality, simulated, worker_faults,
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
    metrics = ("message_ms", "caption_ms", "playable_ms", "from_batch_start_ms", "first_word_to_caption_ms")
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


def _plot_end_to_end(results: dict[str, Any], plt: Any) -> str:
    """Latency to translatedAudio and from the first word, per number of languages."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    counts = list(results["e2e_by_languages"])
    for offset, (metric, label) in enumerate(
        [
            ("caption_ms", "to translatedText (caption)"),
            ("message_ms", "to translatedAudio (voice)"),
            ("first_word_to_caption_ms", "first word to caption"),
        ]
    ):
        rows = [results["e2e_by_languages"][n].get(metric, {}) for n in counts]
        p50 = [row.get("p50", 0) / 1000 for row in rows]
        p95 = [row.get("p95", 0) / 1000 for row in rows]
        xs = [i + offset * 0.27 for i in range(len(counts))]
        ax.bar(xs, p50, width=0.25, label=f"{label} (median)")
        ax.scatter(xs, p95, marker="_", s=200, color="black", zorder=3)
    ax.set_xticks(
        [i + 0.27 for i in range(len(counts))], [f"{n} language{'s' if n != '1' else ''}" for n in counts]
    )
    ax.set_ylabel("seconds (bar: median, line: p95)")
    ax.set_title("End-to-end latency, local stack")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(IMAGES / "bench-e2e.png", dpi=120)
    return "bench-e2e.png"


def _plot_stages(results: dict[str, Any], plt: Any) -> str:
    """The processor's stages, median ms per utterance."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    stages = [s for s in ("translate", "synthesize", "store", "deliver") if s in results["stages_ms"]]
    ax.barh(stages, [results["stages_ms"][s]["p50"] for s in stages])
    ax.set_xlabel("ms per utterance (median; translate/synthesize summed over languages)")
    ax.set_title("audio_processor stages, local engines")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(IMAGES / "bench-stages.png", dpi=120)
    return "bench-stages.png"


def _plot_fanout(results: dict[str, Any], plt: Any) -> str:
    """First to last listener and the processor's send time, per audience size."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sizes = sorted(int(n) for n in results["fanout"])
    ax.plot(
        sizes,
        [results["fanout"][str(n)]["first_to_last_ms_p50"] for n in sizes],
        marker="o",
        label="first to last listener",
    )
    ax.plot(
        sizes,
        [results["fanout"][str(n)]["processor_deliver_ms_p50"] for n in sizes],
        marker="s",
        label="processor send time",
    )
    ax.set_xscale("log")
    ax.set_xlabel("listeners of one language")
    ax.set_ylabel("ms per clip (median)")
    ax.set_title("Fan-out, local gateway")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(IMAGES / "bench-fanout.png", dpi=120)
    return "bench-fanout.png"


def _plot_cost(results: dict[str, Any], plt: Any) -> str:
    """Cost per session-hour, stacked by line, against the seed's claim."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    scenarios = {
        "1 language": results["costs"]["1"],
        "3 languages": results["costs"]["3"],
        "3 languages,\n3 s batches": results["costs"]["batches_3"],
    }
    lines = [k for k in results["costs"]["1"] if k != "total"]
    bottoms = [0.0] * len(scenarios)
    for line in lines:
        values = [s[line] for s in scenarios.values()]
        ax.bar(list(scenarios), values, bottom=bottoms, label=line)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.axhline(
        cost.SEED_CLAIM_USD_PER_SESSION_HOUR, color="black", linestyle="--", label="seed's claim ($1.52)"
    )
    ax.set_ylabel("USD per session-hour (100 listeners)")
    ax.set_title("Cost model, us-east-1 list prices")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(IMAGES / "bench-cost.png", dpi=120)
    return "bench-cost.png"


def plots(results: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMAGES.mkdir(parents=True, exist_ok=True)
    names = [draw(results, plt) for draw in (_plot_end_to_end, _plot_stages, _plot_fanout, _plot_cost)]
    plt.close("all")
    return names


def _fit_rows(r: dict[str, Any]) -> str:
    rows = []
    for language, fit in r.get("clip_fit_by_language", {}).items():
        natural, fitted = fit["natural"], fit["fitted"]
        rows.append(
            f"| {language} | {natural['p50']} / {natural['p95']} / {natural['max']} "
            f"| {fitted['p50']} / {fitted['p95']} / {fitted['max']} | {fitted['n']} |"
        )
    return "\n".join(rows)


def _quality_rows(r: dict[str, Any]) -> str:
    return "\n".join(
        f"| {cut} | {q['pieces']} | {q['source_wer']} | {q['bleu_es']} | {q['chrf_es']} | {q['bleu_fr']} | {q['chrf_fr']} |"
        for cut, q in r["caption_quality"].items()
    )


def cloudfront_note(r: dict[str, Any]) -> str:
    d = r.get("clip_delivery_5000_listeners")
    if not d:
        return ""
    return (
        f"Clip downloads at 5,000 listeners: ${d['s3_direct']:.2f} per session-hour from S3 directly, "
        f"${d['cloudfront']:.2f} through CloudFront (its per-request price outweighs its cheaper bytes for "
        f"~24 KB clips): CloudFront would not save money, so it is not built (COSTS.md)."
    )


def simulated_fanout_section(r: dict[str, Any]) -> str:
    sim = r.get("fanout_sim")
    if not sim:
        return ""
    rows = "\n".join(
        f"| {design} | {v['listeners']:,} | {v['ms_p50']} | {v['peak_in_flight']} | {v['gone']} | {v['pages']} | {v['cpu_ms_per_post']} |"
        for design in ("paged", "one_sender")
        for v in (sim[k] for k in sorted(sim) if k.startswith(design + "_"))
    )
    return f"""## 6b. Fan-out with AWS's timing (simulated management API)

`bench/fanout_sim.py`: one clip to N listeners of one language through the product's sender, against
`local/management_sim.py` (its own process), which answers each post after {sim["delay_ms"]:.0f} ms and 410 for
{sim["gone_percent"]:.0f} % of the connections. **paged** is what ships: the processor posts the first page of
{sim["page_size"]:,}, and each further page is posted by a warm fan-out "invocation" (a worker process here,
running the real `fanout_handler`), all at once; **one_sender** posts everything from the processor's one
asyncio client. {sim["in_flight_per_sender"]} posts in flight per sender. Clip ready → last post answered, median
of {sim["runs"]} run(s):

| design | listeners | ms | peak posts in flight | answered 410 | pages | sender CPU per post, ms |
|---|---|---|---|---|---|---|
{rows}

On this machine every sender and the endpoint share 2 cores, so the 5,000-listener figure is CPU-bound: ~0.4 ms of
CPU per post, times 5,000 posts, on 2 cores. On AWS each fan-out invocation has a vCPU of its own (1,769 MB), so 5,000
listeners take about one page's time (the 1,000 row) plus a synchronous invoke; see ARCHITECTURE.md §9."""


def _preamble(r: dict[str, Any]) -> str:
    return f"""# Benchmarks

Written by `python -m bench.run{" --quick" if r["mode"] == "quick" else ""}` (`make bench{"-quick" if r["mode"] == "quick" else ""}`) on {r["date"]};
raw figures in `bench/results/{r["date"]}{"-quick" if r["mode"] == "quick" else ""}.json`. Machine: **{r["machine"]}**. Mode: {r["mode"]}
({r["repeats"]} run(s) per figure, the median is reported; capture `{r["capture"]}`). Benchmarks are never
part of `make test`. Ratios compare figures of this one run. The live path is **utterance streaming**: one
recognition stream per session, the utterance (cut at a pause) as the unit of translation and speech. The
fixed 3 s batch figures of 2026-11-22 are kept in `bench/results/2026-11-22.json` for comparison.
{("_" + r["concurrency_rerun_note"] + "._") if r.get("concurrency_rerun_note") else ""}

"""


def _pair(r: dict[str, Any], key: str) -> str:
    """A published figure's median / p95, or a dash for a run made before it existed."""
    if f"{key}_p50" not in r:
        return "—"
    return f"{r[f'{key}_p50']:.0f} / {r[f'{key}_p95']:.0f} ms"


def _headlines(r: dict[str, Any]) -> str:
    return f"""## Headlines

{("**Note.** " + r["machine_note"]) if r.get("machine_note") else ""}

| figure | value | before (3 s batches, 2026-11-22) |
|---|---|---|
| utterance end → caption (`translatedText`), local, 1 language (median / p95) | {_pair(r, "utterance_to_caption_ms")} | the caption came with the voice: 2.9 / 3.6 s (2026-12-04) |
| utterance end → voice (`translatedAudio`), local, 1 language (median / p95) | {r["utterance_to_message_ms_p50"]:.0f} / {r["utterance_to_message_ms_p95"]:.0f} ms | batch end → message 1169 / 1388 ms, but a word waited up to 3 s more for its batch |
| an utterance's first word → its caption, local, 1 language (median / p95) | {_pair(r, "first_word_to_caption_ms")} | ~7 s (2026-12-04) |
| recognition requests per session-hour | {r["recognition_streams_per_session_hour"]} | 1,200 |
| cost per session-hour, 1 / 3 languages (100 listeners) | ${r["cost_usd_per_session_hour_1lang"]:.2f} / ${r["cost_usd_per_session_hour_3lang"]:.2f} | $8.47 / $11.50 |
| clip length / source length as delivered (median / p95 / max) | {r["clip_fit_ratio_p50"]} / {r["clip_fit_ratio_p95"]} / {r["clip_fit_ratio_max"]} | not fitted |
| fan-out to 1000 listeners (first → last listener) | {r["fanout_1000_ms"]} ms | 1185.7 ms |
| fan-out to 1,000 / 5,000 listeners, AWS timing simulated (40 ms a post), clip ready → last post answered | {r.get("fanout_1000_simulated_ms", "—")} / {r.get("fanout_5000_simulated_ms", "—")} ms (peak {r.get("fanout_5000_simulated_peak_in_flight", "—")} posts in flight) | 5,000: not possible (500 listeners at most) |

"""


def _ingestion(r: dict[str, Any]) -> str:
    return f"""## 1. Ingestion (`s3_audio_consumer`'s exact decoder)

{r["consumer_batches_per_run"]} segments of a real capture per run, moto S3/DynamoDB in process: reads,
EBML parsing, the conditional cursor write and the ffmpeg decode. Median {r["consumer_ms_p50"]} ms, p95
{r["consumer_ms_p95"]} ms per segment. The streaming worker feeds the recognizer with these segments.

"""


def _speech_engines(r: dict[str, Any]) -> str:
    stage_rows = "\n".join(
        f"| {s} | {v['p50']:.0f} | {v['p95']:.0f} |" for s, v in r["stages_ms"].items() if s != "transcribe"
    )
    engine = r["engines"]
    engine_rows = "\n".join(
        f"| {code} | {engine['translate_ms'].get(code, {}).get('p50', '—')} | {engine['tts_ms'][code]['p50']} |"
        for code in engine["tts_ms"]
    )
    return f"""## 2. Speech engines, local

Whisper base int8 on 2 threads (a fixed ~1.5 s per utterance on this machine: the encoder always sees a 30 s
window); Apertium; Piper for English, espeak-ng otherwise, each voice including the MP3 encode. ASR per piece:
median {engine["asr_ms"]["p50"]} ms, p95 {engine["asr_ms"]["p95"]} ms.

| language | translate ms (median) | speak + MP3 ms (median) |
|---|---|---|
{engine_rows}

Inside the audio_processor during the end-to-end runs (ms per utterance; translate and synthesize add up over
languages; *synthesize* includes the clip fit):

| stage | median | p95 |
|---|---|---|
{stage_rows}

![stages](images/bench-stages.png)

"""


def _cell(row: dict[str, Any], metric: str) -> str:
    figure = row.get(metric)
    return f"{figure['p50']:.0f} / {figure['p95']:.0f}" if figure else "—"


def _end_to_end(r: dict[str, Any]) -> str:
    e2e_rows = "\n".join(
        f"| {n} | {_cell(v, 'caption_ms')} | {_cell(v, 'message_ms')} | {_cell(v, 'playable_ms')} "
        f"| {_cell(v, 'first_word_to_caption_ms')} | {_cell(v, 'from_batch_start_ms')} |"
        for n, v in r["e2e_by_languages"].items()
    )
    utt = r["utterance_ms"]
    return f"""## 3. End to end, local

A speaker client streams the capture at the pace Chromium recorded it; one listener per language.
*To caption*: from the moment the speaker sent the chunk that completes an utterance's audio to the
`translatedText` at the listener; *to voice*: to the `translatedAudio`. *To playable*: plus the clip's first byte.
*First word →*: from the utterance's first chunk (its first word waits longest). Utterances were
{utt["p50"]:.0f} ms long (median; p95 {utt["p95"]:.0f} ms).

| languages | to caption, ms (median / p95) | to voice | to playable | first word → caption | first word → voice |
|---|---|---|---|---|---|
{e2e_rows}

![end to end](images/bench-e2e.png)

Locally the utterance waits for 300 ms of silence, then Whisper transcribes it whole (~1.5 s on two shared
cores), then Apertium and the voice run: the local figure is the offline engines' floor, not the product's
on AWS, where Transcribe's results come while the speaker talks (not measured here: no account).

"""


def _keeps_time(r: dict[str, Any]) -> str:
    return f"""## 4. Speech that keeps time

Clip length / source length per language, at the voice's own pace (*natural*) and as delivered after the fit
(voice rate from the learned pace, trim, `atempo`; at most 1.3 times faster). Median / p95 / max:

| language | natural | delivered | clips |
|---|---|---|---|
{_fit_rows(r)}

"""


def _caption_quality(r: dict[str, Any]) -> str:
    return f"""## 5. Caption quality

Against human reference translations committed with the capture, the same Whisper base + Apertium engines,
sacrebleu on the whole talk (`python -m bench.quality --capture {r["capture"]}`):

| cut | pieces | source WER | BLEU es | chrF es | BLEU fr | chrF fr |
|---|---|---|---|---|---|---|
{_quality_rows(r)}

"""


def _fanout(r: dict[str, Any]) -> str:
    fan_rows = "\n".join(
        f"| {n} | {v['first_to_last_ms_p50']} | {v['processor_deliver_ms_p50']} | {v['messages_per_second']} | {v['clips_reaching_all']}/{v['clips']} |"
        for n, v in r["fanout"].items()
    )
    return f"""## 6. Fan-out

N listeners in one language on the local gateway (each a WebSocket client of this machine); the audio_processor
posts through the product's sender (`shared/fanout.py`: asyncio, SigV4-signed, 250 posts in flight; pages of
1,000 beyond the first go to the fan-out function).

| listeners | first → last listener, ms | processor send time, ms | messages/s | clips to all |
|---|---|---|---|---|
{fan_rows}

![fan-out](images/bench-fanout.png)

{simulated_fanout_section(r)}

"""


def _concurrency(r: dict[str, Any]) -> str:
    conc_rows = "\n".join(
        f"| {s['sessions']} | {s.get('p50', '—')} | {s.get('p95', '—')} |" for s in r["concurrency"]["steps"]
    )
    return f"""## 7. Concurrency

Sessions in parallel (each: one speaker streaming `en-welcome`, one Spanish listener), doubling until the median
latency to message doubles. Every session's Whisper shares the same two cores: this measures the machine.

| sessions | to message, ms (median) | p95 |
|---|---|---|
{conc_rows}

{("_" + r["concurrency_rerun_note"] + "._") if r.get("concurrency_rerun_note") else ""}

"""


def _costs(r: dict[str, Any]) -> str:
    cost_rows = "\n".join(
        f"| {line} | {r['costs']['1'][line]:.3f} | {r['costs']['3'][line]:.3f} | {r['costs']['3_1000_listeners'][line]:.3f} "
        f"| {r['costs'].get('3_5000_listeners', {}).get(line, float('nan')):.3f} "
        f"| {r['costs']['batches_1'][line]:.3f} | {r['costs']['batches_3'][line]:.3f} |"
        for line in r["costs"]["1"]
    )
    return f"""## 8. Cost model

`bench/cost.py` (tested in `tests/unit/test_cost_model.py`); prices and assumptions in [COSTS.md](COSTS.md).
USD per session-hour, 100 listeners unless said:

| line | 1 language | 3 languages | 3 languages, 1000 listeners | 3 languages, 5000 listeners | 1 language, 3 s batches | 3 languages, 3 s batches |
|---|---|---|---|---|---|---|
{cost_rows}

![cost](images/bench-cost.png)

{cloudfront_note(r)}

One Transcribe stream per session (handed over every 12 minutes: 5 per hour) bills the audio once; the 3 s
batches billed 15 s per 3 s. The seed claimed $1.52 per session-hour.
"""


def _fault_row(f: dict[str, Any]) -> str:
    idle = f["worker_lambda_s_per_idle_hour"]
    lambda_s = f"{f['worker_lambda_s']}" + (f" ({idle} per idle hour)" if idle else "")
    cells = (
        f["scenario"], f["speech_lost_s"], f["speech_reported_missing_s"], f["speech_doubled"],
        f["index_holes"], f["resent_to_ledger"], f["recovery_s_max"] or "-",
        f["transcribe_billed_s_per_talk_s"], lambda_s,
    )  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _faults(r: dict[str, Any]) -> str:
    if "faults" not in r:
        return ""
    rows = "\n".join(_fault_row(f) for f in r["faults"])
    return f"""
## The session worker under faults

`python -m bench.faults` (also in `make bench`): each scenario of `tests/unit/test_worker_faults.py` on the world
of `local/kit/worker_world.py`: the real worker, lease, cursor and chunk store on moto with real ffmpeg and the
79 s keynote capture, a Transcribe-like stream (stream start 1.5 s, partial results 1 s after their audio, finals
at pauses, a 1 s close flush), S3 GETs of 80 ms, 3 s cold starts, the chunk writer's kick and the worker watch.
Speech lost is audio in no delivered utterance and in no reported gap (the last word's granularity is 0.5 s);
doubled is utterances reaching listeners whose audio overlaps; re-sent is hand-offs the processor's ledger dropped.

Headlines: `faults_speech_lost_s_max` **{r["faults_speech_lost_s_max"]} s**, `faults_duplicates`
**{r["faults_duplicates"]}**, `faults_recovery_s_p95` **{r["faults_recovery_s_p95"]} s** (documented bound 21 s,
ARCHITECTURE §6).

| scenario | speech lost (s) | reported missing (s) | doubled | index holes | re-sent to ledger | longest recovery (s) | Transcribe-billed s per s of talk | worker Lambda s |
|---|---|---|---|---|---|---|---|---|
{rows}
"""


def markdown(results: dict[str, Any]) -> str:
    """docs/BENCHMARKS.md from one run's results, a section at a time."""
    sections = (
        _preamble,
        _headlines,
        _ingestion,
        _speech_engines,
        _end_to_end,
        _keeps_time,
        _caption_quality,
        _fanout,
        _concurrency,
        _faults,
        _costs,
    )
    return "".join(section(results) for section in sections)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", type=Path, help="rewrite the docs from a saved results JSON")
    parser.add_argument(
        "--rerun", help="comma-separated parts to measure again: e2e, fanout, concurrency, fanout_sim, faults"
    )
    args = parser.parse_args()
    if args.rerun:
        results = rerun(args.rerun.split(","))
        results["plots"] = plots(results)
        DOC.write_text(markdown(results))
        return
    if args.render:  # the page and plots again, without measuring
        results = json.loads(args.render.read_text())
        results["plots"] = plots(results)
        DOC.write_text(markdown(results))
        return
    results = run_all(args.quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (RESULTS / f"{results['date']}{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    if not args.quick:  # a smoke run leaves the published figures alone
        results["plots"] = plots(results)
        DOC.write_text(markdown(results))
    print(json.dumps({k: results[k] for k in (
        "consumer_ms_p50", "consumer_ms_p95", "e2e_ms_p50", "e2e_ms_p95", "fanout_1000_ms",
        "cost_usd_per_session_hour_1lang", "cost_usd_per_session_hour_3lang", "machine", "duration_s",
    )}, indent=2))  # fmt: skip
    subprocess.run(["git", "status", "--short", "docs", "bench/results"], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
