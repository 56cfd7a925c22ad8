"""Starts `python -m local` as a child process and waits until it is healthy; for the
integration tests and the benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from local.paths import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_local_stack(
    log_path: Path,
    port: int | None = None,
    timeout: float = 180,
    verbose: bool = False,
    settings: dict[str, str] | None = None,
) -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:PORT); stops the stack with Ctrl-C on exit.
    `settings` are extra environment variables of the runner (docs/LOCAL.md)."""
    port = port or free_port()
    # The child reads its own AWS settings: nothing of the caller's may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(settings or {})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", str(port), *(["--verbose"] if verbose else [])],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while not _healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the local stack did not start; see {log_path}")
                time.sleep(0.3)
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
