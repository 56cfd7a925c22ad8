"""The figures of docs/BENCHMARKS.md (docs/images/bench-*.png), drawn from one run's results."""

from __future__ import annotations

from typing import Any

from bench import cost
from local.paths import ROOT

IMAGES = ROOT / "docs" / "images"


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


def _plot_word_lag(results: dict[str, Any], plt: Any) -> str:
    """Each word's lag to its first caption over the talk (one run, 1 language)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    points = results.get("word_lags_1lang", [])
    ax.scatter([at for at, _ in points], [lag / 1000 for _, lag in points], s=6)
    if "word_to_caption_ms_p50" in results:
        ax.axhline(results["word_to_caption_ms_p50"] / 1000, color="gray", linestyle="--", label="median")
        ax.legend(fontsize=8)
    ax.set_xlabel("the word's end in the talk (s)")
    ax.set_ylabel("word → its first caption (s)")
    ax.set_title("Each word's wait for its caption, local stack")
    fig.tight_layout()
    fig.savefig(IMAGES / "bench-word-lag.png", dpi=120)
    return "bench-word-lag.png"


def plots(results: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMAGES.mkdir(parents=True, exist_ok=True)
    drawn = (_plot_end_to_end, _plot_word_lag, _plot_stages, _plot_fanout, _plot_cost)
    names = [draw(results, plt) for draw in drawn]
    plt.close("all")
    return names
