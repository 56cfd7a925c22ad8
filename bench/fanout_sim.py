"""Fan-out with AWS's timing: one clip to 1,000 and 5,000 listeners of one language,
through the product's sender (delivery/fanout.py), against a management endpoint that
answers each post after 40 ms and 410 for 1 % of the connections (local/management_sim.py,
its own process).

`paged_<n>` is the design that ships, timed as AWS runs it: the processor posts the first
page of 1,000 and each further page is posted by a fan-out invocation with a vCPU of its
own. This machine has 2 cores, so each page is posted alone (the processor's page in
this process, each invoked page by a warm worker process, as a Lambda container), and
the delivery takes as long as its slowest page, the invoked ones starting a measured
invoke round trip late. For comparison, on this machine's shared cores:
- `paged_shared_cores_<n>`: the same pages posted at once by five worker processes and
  the processor, all on 2 cores with the endpoint;
- `one_sender_shared_cores_<n>`: every post from the processor's one asyncio client.

Reported per size: clip ready -> last post answered (median of the runs), the peak
number of posts in flight at the endpoint, posts answered 410, and the senders' CPU per
post."""

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
# A warm Lambda's synchronous Invoke, call to handler start and answer back: AWS does not
# publish it; tens of ms is what is commonly measured. Used where the local round trip
# between processes (a fraction of a ms) is shorter, so the figure does not flatter AWS.
AWS_INVOKE_MS = 30.0
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

    cpu, wall = time.process_time(), time.perf_counter()
    answer = fanout_handler.lambda_handler(event, Context())
    return {
        **answer,
        "cpuMs": (time.process_time() - cpu) * 1000,
        "wallMs": (time.perf_counter() - wall) * 1000,
    }


def _noop() -> float:
    return time.perf_counter()


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
        answer.pop("wallMs")
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
        measured_invoke_ms = _invoke_ms(pool)
        invoke_ms = max(measured_invoke_ms, AWS_INVOKE_MS)
        results["invoke_ms_here"], results["invoke_ms"] = round(measured_invoke_ms, 2), invoke_ms
        for n in sizes:
            results[f"paged_{n}"] = _measure_isolated(sim, poster, pool, invoke_ms, n, runs)
        for design, sender in designs.items():
            for n in sizes:
                results[f"{design}_shared_cores_{n}"] = _measure_size(sim, sender, n, runs, worker_cpu)
        return results
    finally:
        poster.close()
        pool.shutdown(cancel_futures=True)
        sim.close()


def _invoke_ms(pool: ProcessPoolExecutor, samples: int = 20) -> float:
    """A warm invocation's round trip with nothing to do: submit to answer, here between
    processes (on AWS: the Invoke API's own latency, tens of ms for a warm function)."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        pool.submit(_noop).result()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _measure_isolated(
    sim: _Sim, poster: Any, pool: ProcessPoolExecutor, invoke_ms: float, n: int, runs: int
) -> dict[str, Any]:
    """The paged design as AWS runs it: every page's sender with a CPU of its own. Each
    page is posted alone on this machine (the processor's own first page, then each
    fan-out invocation's), and the delivery takes as long as the slowest of them, the
    invoked ones starting `invoke_ms` late: the pages run in parallel on AWS."""
    from delivery.fanout import page_event, pages_of

    listeners = _listeners(n)
    expected_gone = sum(is_gone(c, GONE_PERCENT / 100) for c in listeners)
    times, cpu_per_post, slowest_page = [], [], []
    for run in range(runs):
        sim.reset()
        pages = pages_of([(c, _message(run)) for c in listeners], PAGE_SIZE)
        cpu, started = time.process_time(), time.perf_counter()
        first = poster.post(pages[0])
        own_ms, own_cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
        answers = [pool.submit(_run_page, page_event(page)).result() for page in pages[1:]]
        page_ms = [own_ms] + [invoke_ms + answer["wallMs"] for answer in answers]
        times.append(max(page_ms))
        slowest_page.append(max([own_ms] + [answer["wallMs"] for answer in answers]))
        cpu_per_post.append((own_cpu + sum(answer["cpuMs"] for answer in answers)) / n)
        gone = len(first.gone) + sum(len(answer["gone"]) for answer in answers)
        stats = sim.stats()
        if (
            stats["answered"] != n
            or gone != expected_gone
            or first.failed
            or any(a["failed"] for a in answers)
        ):
            raise RuntimeError(f"fan-out lost posts: {stats}, gone {gone}/{expected_gone}")
    return {
        "listeners": n,
        "ms_p50": round(statistics.median(times), 1),
        "ms_all": [round(t, 1) for t in times],
        "slowest_page_ms_p50": round(statistics.median(slowest_page), 1),
        "peak_in_flight": IN_FLIGHT,  # one page at a time here; on AWS each page's own
        "gone": expected_gone,
        "pages": len(pages),
        "cpu_ms_per_post": round(statistics.median(cpu_per_post), 3),
    }


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
