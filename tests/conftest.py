"""Shared test setup: fake AWS credentials so that no test can reach AWS."""

from __future__ import annotations

import os

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "low-latency-translate-tests",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    from local.paths import ffmpeg_path

    return ffmpeg_path()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory):
    """`python -m local` on a free port, started once for the tests that ask for it."""
    from local.process import running_local_stack

    # A short handover interval, so that a test talk crosses handovers (the default is 12 minutes),
    # and pages of 20 listeners, so that tens of listeners go through the fan-out function.
    # Every partial of the in-process recognizer, however loaded the machine, when a run opts
    # into it (RECOGNIZER=local.engines.streaming:build); the default is the production adapter.
    settings = {
        "WORKER_HANDOVER_SECONDS": "4",
        "FANOUT_PAGE_SIZE": "20",
        "LOCAL_RECOGNIZER_PARTIALS": "queued",
    }
    with running_local_stack(tmp_path_factory.mktemp("local") / "local.log", settings=settings) as base:
        yield base
