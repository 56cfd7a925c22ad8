"""Time of s3_audio_consumer per ~3 s batch on a real capture (moto S3/DynamoDB in process).

    .venv/bin/python -m bench.consumer [--sessions 12]

Each timed call is one consumer invocation that cut, decoded and handed on a batch:
listing, S3 reads, EBML parsing, the conditional cursor write and the ffmpeg decode.
Against real S3 and DynamoDB add their request latencies (tens of ms)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import boto3
from moto import mock_aws

from bench.stats import percentile
from local.kit.captures import capture
from local.replay import Replay, create_bucket
from s3_audio_consumer.planner import PlanSettings


def run(sessions: int) -> dict[str, object]:
    chunks = capture("en-welcome").chunks
    timings: list[float] = []
    with mock_aws():
        aws = boto3.Session(region_name="us-east-1")
        for n in range(sessions):
            session_id = f"steady-river-{n:04d}"
            if n == 0:
                s3 = create_bucket(aws)
            replay = Replay(s3, session_id, PlanSettings(gap_wait_seconds=3600))
            for seq, chunk in enumerate(chunks):
                replay.store(seq, chunk)
                started = time.perf_counter()
                handed = replay.event()
                if handed:
                    timings.append((time.perf_counter() - started) * 1000 / handed)
    return {
        "batches": len(timings),
        "consumer_ms_p50": round(statistics.median(timings), 1),
        "consumer_ms_p95": round(percentile(timings, 0.95), 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=14)
    print(json.dumps(run(parser.parse_args().sessions), indent=2))
