"""`make bench`: every benchmark, one JSON of results, docs/BENCHMARKS.md with plots.

    .venv/bin/python -m bench.run [--quick]

Full: the 79 s keynote capture, 3 runs per figure (the median is reported); --quick:
the 14.5 s capture, one run, smaller sizes (a smoke run of under 3 minutes) that writes
only its JSON, leaving docs/BENCHMARKS.md and the plots of the last full run alone.

What is measured and how it is summed up: bench/measuring.py; the page: bench/report.py;
its figures: bench/plots.py."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from bench.measuring import RESULTS, rerun, run_all
from bench.plots import plots
from bench.report import markdown
from local.paths import ROOT

DOC = ROOT / "docs" / "BENCHMARKS.md"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", type=Path, help="rewrite the docs from a saved results JSON")
    parser.add_argument(
        "--rerun",
        help="comma-separated parts to measure again: e2e, fanout, concurrency, fanout_sim, faults, "
        "long_talk",
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
