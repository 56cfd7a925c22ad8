"""The session worker's fault table: each scenario of the fault suite on the world of
`local/kit/worker_world.py` (fake clock, moto, real ffmpeg, a Transcribe-like stream
with AWS-like timing), and what it cost the listeners.

    .venv/bin/python -m bench.faults          # prints the table as JSON

Columns: speech lost (audio in no delivered utterance and in no reported gap), speech
reported missing (gaps), speech doubled (overlapping utterances reaching listeners),
utterances re-sent to the processor's ledger (dropped there), the longest recovery,
Transcribe-billed seconds per second of talk, and worker Lambda seconds (per
session-hour while idle for the pause)."""

from __future__ import annotations

import json
import random
from typing import Any

import boto3
from moto import mock_aws

from local.kit.captures import Capture
from local.kit.captures import capture as named_capture
from local.kit.fake_transcribe import TranscribeTiming
from local.kit.worker_world import Faults, Timing, World, WorldReport
from local.paths import ffmpeg_path
from local.resources import create_sessions_table

AWS_TIMING = Timing(
    get_latency_s=0.08, cold_start_s=3.0, transcribe=TranscribeTiming(start_s=1.5, partial_lag_s=1.0)
)


def run_world(talk: Capture, faults: Faults, timing: Timing = AWS_TIMING) -> WorldReport:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        table = create_sessions_table(boto3.resource("dynamodb", region_name="us-east-1"), "Sessions-bench")
        world = World(
            s3,
            table,
            talk.chunks,
            talk.timings_ms,
            ffmpeg_path(),
            talk_ms=talk.talk_ms,
            faults=faults,
            timing=timing,
        )
        return world.run()


def crash_points(seed: int, talk_s: float) -> tuple[float, ...]:
    rng = random.Random(seed)
    points = sorted(rng.uniform(2, talk_s) for _ in range(7))
    return (*points, talk_s + 0.4, talk_s + 2.0, talk_s + 6.0)


def scenarios(talk_s: float) -> dict[str, Faults]:
    return {
        "no fault": Faults(),
        "3 handovers (every 20 s)": Faults(handover_after_s=20.0),
        "10 crashes, seed 1 (handovers every 25 s)": Faults(
            crash_at=crash_points(1, talk_s), handover_after_s=25.0
        ),
        "10 crashes, seed 2 (handovers every 25 s)": Faults(
            crash_at=crash_points(2, talk_s), handover_after_s=25.0
        ),
        "9 chunks never arrive": Faults(never_arrive=frozenset(range(40, 49))),
        "50 chunks never arrive": Faults(never_arrive=frozenset(range(40, 90))),
        "outage 5 s, app resends": Faults(outage=(10.0, 15.0)),
        "outage 30 s, app resends": Faults(outage=(10.0, 40.0)),
        "outage 62 s, app resends": Faults(outage=(10.0, 72.0)),
        "outage 119 s, app resends": Faults(outage=(10.0, 129.0)),
        "processor invoke fails once": Faults(invoke_failures=1),
        "processor invoke fails 3 times": Faults(invoke_failures=3),
        "stalled worker wakes after its replacement": Faults(stall=(30.0, 20.0)),
        "two kicks at once": Faults(double_kick=True),
        "ended by the grace timer": Faults(ended_by="grace"),
        "speaker paused 20 minutes": Faults(pause=(30.0, 1200.0)),
    }


def row(name: str, report: WorldReport, talk_s: float, idle_s: float = 0.0) -> dict[str, Any]:
    return {
        "scenario": name,
        "speech_lost_s": round(report.lost_ms() / 1000, 2),
        "speech_reported_missing_s": round(report.missed_ms / 1000, 1),
        "speech_doubled": len(report.overlaps()),
        "index_holes": len(set(range(len(report.delivered))) ^ set(report.delivered)),
        "resent_to_ledger": report.duplicates,
        "recovery_s_max": round(max(report.recoveries_s, default=0.0), 1),
        "recoveries_s": [round(r, 1) for r in report.recoveries_s],
        "transcribe_billed_s_per_talk_s": round(report.transcribe_billed_s / talk_s, 2),
        "worker_lambda_s": round(report.lambda_s, 1),
        "worker_lambda_s_per_idle_hour": round(report.lambda_s / idle_s * 3600, 1) if idle_s else None,
        "done": report.done,
    }


def measure(capture: str = "en-keynote", long_capture: str = "en-talk-4min") -> dict[str, Any]:
    talk = named_capture(capture)
    talk_s = talk.talk_ms / 1000
    rows = []
    for name, faults in scenarios(talk_s).items():
        print(f"  faults: {name} ...", flush=True)
        idle = faults.pause[1] if faults.pause else 0.0
        rows.append(row(name, run_world(talk, faults), talk_s, idle))
    long_talk = named_capture(long_capture)
    print("  faults: 400 chunks never arrive (4-minute talk) ...", flush=True)
    report = run_world(long_talk, Faults(never_arrive=frozenset(range(100, 500))))
    rows.append(row("400 chunks never arrive (4-minute talk)", report, long_talk.talk_ms / 1000))
    recoveries = sorted(r for row_ in rows for r in row_["recoveries_s"])
    return {
        "faults": rows,
        "faults_speech_lost_s_max": max(r["speech_lost_s"] for r in rows),
        "faults_duplicates": sum(r["speech_doubled"] for r in rows),
        "faults_recovery_s_p95": recoveries[min(len(recoveries) - 1, int(0.95 * len(recoveries)))]
        if recoveries
        else 0.0,
    }


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()
