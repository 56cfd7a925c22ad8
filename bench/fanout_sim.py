"""Fan-out with AWS's timing: one clip to 1,000 and 5,000 listeners of one language,
through the product's sender (delivery/fanout.py), against a management endpoint that
answers each post after 40 ms and 410 for 1 % of the connections (local/management_sim.py,
its own process).

Two designs are measured:
- `paged` (what ships): the processor posts the first page of 1,000, and each further
  page is posted by a fan-out "invocation": here a warm worker process, as a Lambda
  container has its own CPU;
- `one_sender`: every post from the processor's one asyncio client (250 in flight).

Reported per size: clip ready -> last post answered (median of the runs), the peak
number of posts in flight at the endpoint, posts answered 410, and the sender's CPU per
post. This machine has 2 cores shared by the endpoint and every sender: on AWS each page
has a vCPU of its own."""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from local.management_sim import is_gone
from local.paths import ROOT
from local.process import free_port

DELAY_MS = 40.0
GONE_PERCENT = 1.0
PAGE_SIZE = 1000
IN_FLIGHT = 250


def _close_poster() -> None:
    from delivery.fanout import poster_from_env

    if poster_from_env.cache_info().currsize:
        poster_from_env().close()


def _worker_init(endpoint: str) -> None:
    atexit.register(_close_poster)
    os.environ.update(
        {
            "API_GATEWAY_ENDPOINT": endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "FANOUT_IN_FLIGHT": str(IN_FLIGHT),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_SERVICE_NAME": "bench",
        }
    )
    sys.path.insert(0, str(ROOT / "lambdas"))


def _run_page(event: dict[str, Any]) -> dict[str, Any]:
    """One warm fan-out invocation: the real handler."""
    from fanout import handler as fanout_handler

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "fanout-bench", 1769, "bench"
        invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:fanout-bench"

    cpu = time.process_time()
    answer = fanout_handler.lambda_handler(event, Context())
    return {**answer, "cpuMs": (time.process_time() - cpu) * 1000}


class _Sim:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/bench"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.management_sim", "--port", str(self.port),
             "--delay-ms", str(DELAY_MS), "--gone-percent", str(GONE_PERCENT)],
            cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the management endpoint did not start")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as response:
            return dict(json.loads(response.read()))

    def reset(self) -> None:
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{self.port}/reset", method="POST"), timeout=5
        ).close()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _listeners(n: int) -> list[str]:
    return [f"L{k:05d}bench=" for k in range(n)]  # API Gateway ids end in "="


def _message(n: int) -> dict[str, Any]:
    """A translatedAudio of the real size: a presigned URL is ~1.2 KB."""
    return {
        "type": "translatedAudio",
        "sessionId": "bench-session",
        "language": "es",
        "index": n,
        "url": "https://bucket.s3.amazonaws.com/sessions/x/translated/es/1.mp3?" + "X" * 1100,
        "expiresAt": 1_900_000_000,
        "text": "Bienvenidos a todos a la sesión de esta mañana sobre sistemas distribuidos.",
        "sourceText": "Welcome everyone to this morning's session on distributed systems.",
        "startMs": 1000,
        "durationMs": 4200,
        "clipMs": 4100,
    }


def measure(sizes: tuple[int, ...] = (1000, 5000), runs: int = 3) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "lambdas"))
    from delivery.fanout import FanoutResult, Page, PagedFanout, SignedPoster, page_event

    sim = _Sim()
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each, like a container
    workers = max(sizes) // PAGE_SIZE
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init,
                               initargs=(sim.endpoint,))  # fmt: skip
    worker_cpu: list[float] = []

    def invoke(page: Any) -> FanoutResult:
        answer = pool.submit(_run_page, page_event(page)).result()
        worker_cpu.append(answer.pop("cpuMs"))
        return FanoutResult.from_dict(answer)

    class _Credentials:
        def get_frozen_credentials(self) -> Any:
            from botocore.credentials import Credentials

            return Credentials("bench", "bench").get_frozen_credentials()

    poster = SignedPoster(sim.endpoint, "us-east-1", _Credentials, in_flight=IN_FLIGHT)
    designs = {
        "paged": PagedFanout(poster, invoke, page_size=PAGE_SIZE),
        "one_sender": PagedFanout(poster, None, page_size=max(sizes)),
    }
    try:
        # Warm every worker and the kept-alive connections, as warm containers are.
        list(pool.map(_run_page, [{"message": "{}", "connectionIds": [f"warm{k}"]} for k in range(workers)]))
        poster.post(Page(b"{}", ("warm",)))
        results: dict[str, Any] = {
            "delay_ms": DELAY_MS,
            "gone_percent": GONE_PERCENT,
            "page_size": PAGE_SIZE,
            "in_flight_per_sender": IN_FLIGHT,
            "runs": runs,
        }
        for design, sender in designs.items():
            for n in sizes:
                results[f"{design}_{n}"] = _measure_size(sim, sender, n, runs, worker_cpu)
        return results
    finally:
        poster.close()
        pool.shutdown(cancel_futures=True)
        sim.close()


def _measure_size(sim: _Sim, sender: Any, n: int, runs: int, worker_cpu: list[float]) -> dict[str, Any]:
    listeners = _listeners(n)
    expected_gone = sum(is_gone(c, GONE_PERCENT / 100) for c in listeners)
    times, peaks, cpu_per_post = [], [], []
    for run in range(runs):
        sim.reset()
        worker_cpu.clear()
        message = _message(run)
        cpu = time.process_time()
        started = time.perf_counter()
        result = sender.deliver([(c, message) for c in listeners])
        times.append((time.perf_counter() - started) * 1000)
        own_cpu = (time.process_time() - cpu) * 1000
        stats = sim.stats()
        peaks.append(stats["peakInFlight"])
        cpu_per_post.append((own_cpu + sum(worker_cpu)) / n)
        if stats["answered"] != n or len(result.gone) != expected_gone or result.failed:
            raise RuntimeError(f"fan-out lost posts: {stats}, gone {len(result.gone)}/{expected_gone}")
    return {
        "listeners": n,
        "ms_p50": round(statistics.median(times), 1),
        "ms_all": [round(t, 1) for t in times],
        "peak_in_flight": max(peaks),
        "gone": expected_gone,
        "pages": result.pages,
        "cpu_ms_per_post": round(statistics.median(cpu_per_post), 3),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
