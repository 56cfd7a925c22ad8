"""Starts `python -m local` once for the integration tests, on a free port."""

from __future__ import annotations

import pytest

from local.process import running_local_stack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory):
    with running_local_stack(tmp_path_factory.mktemp("local") / "local.log") as base:
        yield base
