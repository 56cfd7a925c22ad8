"""Fan-out on the local stack: N listeners (lightweight WebSocket clients) in one language;
for each clip, the time from the first listener's `translatedAudio` to the last one's,
and the processor's own send time (DeliverMs) for that batch.

    .venv/bin/python -m bench.fanout [--listeners 10 100 1000]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.e2e import bench_stack, processor_reports
from local.kit.captures import capture
from local.kit.client import ProtocolClient


async def one_size(base: str, listeners: int) -> dict[str, Any]:
    url = base.replace("http://", "ws://") + "/ws"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(f"{base}/dev/token") as response:
            token = (await response.json())["idToken"]
        speaker = await ProtocolClient.connect(http, url, token=token)
        await speaker.send(
            {"action": "createSession", "sourceLanguage": "en", "title": f"fan-out {listeners}"}
        )
        session_id = (await speaker.wait_for("sessionCreated"))[0]["sessionId"]
        clients: list[ProtocolClient] = []
        for start in range(0, listeners, 50):
            batch = [
                ProtocolClient.connect(http, url, sessionId=session_id, language="es")
                for _ in range(start, min(listeners, start + 50))
            ]
            clients.extend(await asyncio.gather(*batch))
        await speaker.wait_for("listenerStats", total=listeners, timeout=120)
        await speaker.stream_capture(session_id, capture("en-welcome"))
        await speaker.send({"action": "endSession", "sessionId": session_id})
        # Utterances are spoken after their pause: the last clips come seconds after the talk.
        with contextlib.suppress(AssertionError):
            await clients[-1].wait_for("translatedAudio", timeout=120.0)
        await clients[-1].wait_until_quiet(quiet=10.0, timeout=180.0)
        spreads: list[float] = []
        by_index: dict[int, list[float]] = {}
        for client in clients:
            for message, arrived in zip(client.received, client.arrivals, strict=True):
                if message.get("type") == "translatedAudio":
                    by_index.setdefault(message["index"], []).append(arrived)
        complete = {i: t for i, t in by_index.items() if len(t) == listeners}
        for arrivals in complete.values():
            spreads.append((max(arrivals) - min(arrivals)) * 1000)
        await asyncio.gather(*(c.close() for c in [speaker, *clients]))
    spread = statistics.median(spreads) if spreads else float("nan")
    return {
        "listeners": listeners,
        "clips": len(by_index),
        "clips_reaching_all": len(complete),
        "first_to_last_ms_p50": round(spread, 1),
        "messages_per_second": round(listeners / (spread / 1000), 0) if spreads and spread > 0 else None,
    }


def measure(base: str, log: Path, sizes: list[int]) -> dict[str, Any]:
    first_report = len(processor_reports(log))
    results = [asyncio.run(one_size(base, size)) for size in sizes]
    time.sleep(1)
    reports = processor_reports(log)[first_report:]
    for result in results:
        deliver = [
            r["timesMs"]["deliver"] for r in reports if r.get("messagesSent", 0) >= result["listeners"]
        ]
        result["processor_deliver_ms_p50"] = round(statistics.median(deliver), 1) if deliver else None
    return {"sizes": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listeners", type=int, nargs="+", default=[10, 100, 1000])
    with bench_stack() as (stack, stack_log):
        print(json.dumps(measure(stack, stack_log, parser.parse_args().listeners), indent=2))
