"""End-to-end latency on the local stack: a speaker streams a browser capture at the pace
it was recorded; listeners in 1..N languages. For each batch: from the moment the speaker
sent the chunk that completes the batch's audio to the `translatedAudio` message at the
listener, and to the clip's first byte. Per-stage times come from the processor's reports.

    .venv/bin/python -m bench.e2e [--capture en-keynote] [--languages 1 2 4] [--runs 1]"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from local.process import running_local_stack
from local.replay import load_chunks
from tests.conftest import CAPTURES
from tests.integration.client import ProtocolClient

TARGETS = ["es", "fr", "it", "pt"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(statistics.median(values)), "p95": round(percentile(values, 0.95))}


async def one_run(base: str, capture: Path, languages: list[str]) -> dict[str, Any]:
    chunks = load_chunks(capture)
    timings = [t["atMs"] for t in json.loads((capture / "capture.json").read_text())["timings"]]
    url = base.replace("http://", "ws://") + "/ws"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/dev/token") as response:
            token = (await response.json())["idToken"]
        speaker = await ProtocolClient.connect(http, url, token=token)
        await speaker.send({"action": "createSession", "sourceLanguage": "en", "title": "bench"})
        session_id = (await speaker.wait_for("sessionCreated"))[0]["sessionId"]
        listeners = {}
        for language in languages:
            listeners[language] = await ProtocolClient.connect(http, url)
            await listeners[language].send(
                {"action": "joinSession", "sessionId": session_id, "targetLanguage": language}
            )
            await listeners[language].wait_for("sessionJoined")
        loop = asyncio.get_running_loop()
        sent_at: list[float] = []
        started = loop.time()
        for seq, chunk in enumerate(chunks):
            await asyncio.sleep(max(0.0, started + (timings[seq] - timings[0]) / 1000 - loop.time()))
            await speaker.send_chunk(session_id, seq, chunk)
            sent_at.append(loop.time())
        await speaker.send({"action": "endSession", "sessionId": session_id})
        await asyncio.sleep(12)  # the flush and the last clips
        message_ms: list[float] = []
        playable_ms: list[float] = []
        from_start_ms: list[float] = []  # from the batch's first chunk: what a word may wait
        for client in listeners.values():
            for message, arrived in zip(client.received, client.arrivals, strict=True):
                if message.get("type") != "translatedAudio":
                    continue
                audio_end = message["startMs"] + message["durationMs"]
                completing = next((k for k, at in enumerate(timings) if at >= audio_end), len(timings) - 1)
                message_ms.append((arrived - sent_at[completing]) * 1000)
                opening = next((k for k, at in enumerate(timings) if at > message["startMs"]), 0)
                from_start_ms.append((arrived - sent_at[opening]) * 1000)
                fetch_started = loop.time()
                async with http.get(message["url"]) as response:
                    await response.content.readany()
                playable_ms.append(message_ms[-1] + (loop.time() - fetch_started) * 1000)
        for client in (speaker, *listeners.values()):
            await client.close()
    return {"message_ms": message_ms, "playable_ms": playable_ms, "from_batch_start_ms": from_start_ms}


def stage_times(log: Path) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        if '"batch processed"' not in line:
            continue
        match = re.search(r"\{.*\}", line)
        if not match:
            continue
        report = json.loads(match.group(0)).get("report", {})
        for stage, value in report.get("timesMs", {}).items():
            stages.setdefault(stage, []).append(value)
    return {stage: summary(values) for stage, values in stages.items()}


def run(capture: str, language_counts: list[int], runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {"capture": capture, "runs": runs, "by_languages": {}}
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "local.log"
        with running_local_stack(log, verbose=True) as base:
            for count in language_counts:
                merged: dict[str, list[float]] = {
                    "message_ms": [],
                    "playable_ms": [],
                    "from_batch_start_ms": [],
                }
                for _ in range(runs):
                    outcome = asyncio.run(one_run(base, CAPTURES / capture, TARGETS[:count]))
                    for key in merged:
                        merged[key].extend(outcome[key])
                results["by_languages"][str(count)] = {k: summary(v) for k, v in merged.items()}
            time.sleep(1)
        results["stages_ms"] = stage_times(log)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--capture", default="en-keynote")
    parser.add_argument("--languages", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.capture, args.languages, args.runs), indent=2))
