"""The browser apps in Debian's Chromium (Playwright), against the local runner.

The Playwright test itself is frontend-client-apps/e2e/broadcast.e2e.ts; this wraps it so
that `make test` runs it against the stack the other tests use, with a fake microphone
fed by an espeak-ng WAV padded with silence."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from local.paths import ROOT
from tests.conftest import CAPTURES

APPS = ROOT / "frontend-client-apps"
ARTIFACTS = ROOT / "test-results" / "e2e"


@pytest.fixture(scope="module")
def microphone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mic")
    speech, mic = folder / "speech.wav", folder / "mic.wav"
    text = (CAPTURES / "en-welcome" / "script.txt").read_text()
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(speech), text], check=True)
    # Chromium's %noloop holds the last buffer: end on silence, as a real room would.
    subprocess.run(
        ["sox", str(speech), "-r", "48000", "-c", "1", "-b", "16", str(mic), "pad", "0.5", "2"], check=True
    )
    return mic


def test_speaker_and_listener_pages_in_chromium(local_stack, microphone_wav):
    if not (APPS / "speaker-app" / "dist" / "index.html").exists():
        pytest.fail("the apps are not built: run `make apps` (make test does)")
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    result = subprocess.run(
        ["npx", "--no-install", "vitest", "run", "--config", "e2e/vitest.config.ts"],
        cwd=APPS,
        env={
            **os.environ,
            "APP_BASE_URL": local_stack,
            "MIC_WAV": str(microphone_wav),
            "ARTIFACTS_DIR": str(ARTIFACTS),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for name in ("speaker.png", "listener.png", "listener-ended.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000, name
