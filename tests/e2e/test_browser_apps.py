"""The browser apps in Debian's Chromium (Playwright), against the local runner.

The Playwright tests themselves are frontend-client-apps/e2e/*.e2e.ts; this wraps them so
that `make test` runs them against the stack the other tests use, with fake microphones:
an espeak-ng WAV padded with silence, the 79 s keynote capture and the 4-minute talk
capture (both real Chromium recordings, decoded back to the WAV Chromium plays)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from local.kit.captures import CAPTURES
from local.paths import ROOT, ffmpeg_path
from local.process import running_local_stack

APPS = ROOT / "frontend-client-apps"
LONG_TALK = "en-talk-4min"
# The listener's states (copied to docs/images/ when they change).
SCREENSHOTS = (
    "listener-waiting.png", "listener-paused.png", "listener-jumped-to-live.png",
    "listener-switching.png", "listener-ended-state.png", "speaker-confirm-end.png", "speaker-ended.png",
    "speaker-transcript.png", "listener-es-join.png", "listener-es-live.png", "listener-es-original.png",
    "listener-es-ended.png", "listener-es-transcript.png", "listener-fr-captions-only.png",
)  # fmt: skip
ARTIFACTS = ROOT / "test-results" / "e2e"
KEEPS_TIME = os.environ.get("E2E_KEEPS_TIME", "1") != "0"


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


def capture_wav(folder: Path, target: Path) -> Path:
    """A committed capture's audio as a 48 kHz WAV, padded with 2 s of silence."""
    chunks = b"".join(path.read_bytes() for path in sorted(folder.glob("chunk-*.webm")))
    subprocess.run(
        [ffmpeg_path(), "-v", "error", "-i", "-", "-ac", "1", "-ar", "48000", "-af", "apad=pad_dur=2", "-y",
         str(target)],
        input=chunks, check=True,
    )  # fmt: skip
    return target


def seconds_of(folder: Path) -> int:
    return round(json.loads((folder / "capture.json").read_text())["durationMs"] / 1000)


@pytest.fixture(scope="module")
def browser_stack(tmp_path_factory: pytest.TempPathFactory):
    """A stack of its own with the default 12-minute stream handover: the shared stack hands
    over every 4 s (to test handovers), and in a 4-minute talk 60 handovers' overlaps are
    recognized twice, which is more than two cores give while Chromium plays and records."""
    log = tmp_path_factory.mktemp("browser") / "local.log"
    with running_local_stack(log, settings={"FANOUT_PAGE_SIZE": "20"}) as base:
        yield base


def test_speaker_and_listener_pages_in_chromium(browser_stack, microphone_wav, tmp_path):
    if not (APPS / "speaker-app" / "dist" / "index.html").exists():
        pytest.fail("the apps are not built: run `make apps` (make test does)")
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    result = subprocess.run(
        ["npx", "--no-install", "vitest", "run", "--config", "e2e/vitest.config.ts"],
        cwd=APPS,
        env={
            **os.environ,
            "APP_BASE_URL": browser_stack,
            "MIC_WAV": str(microphone_wav),
            # The 4-minute talk (LONG_MIC_WAV, capture en-talk-4min) and the listener-states test
            # (STATES_MIC_WAV, the keynote) take ~5 minutes; E2E_KEEPS_TIME=0 leaves them out.
            **(
                {
                    "STATES_MIC_WAV": str(capture_wav(CAPTURES / "en-keynote", tmp_path / "keynote.wav")),
                    "LONG_MIC_WAV": str(capture_wav(CAPTURES / LONG_TALK, tmp_path / "talk.wav")),
                    "LONG_MIC_SECONDS": str(seconds_of(CAPTURES / LONG_TALK)),
                }
                if KEEPS_TIME
                else {}
            ),
            "ARTIFACTS_DIR": str(ARTIFACTS),
        },
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    figures = "\n".join(line for line in result.stdout.splitlines() if "4-minute talk:" in line)
    (ARTIFACTS / "keeps-time.txt").write_text(figures + "\n")  # the lag figures, kept for the notes
    print(figures)
    taken = SCREENSHOTS if KEEPS_TIME else ()
    always = ("speaker.png", "listener.png", "listener-ended.png", "listener-ja-join.png")
    always += ("listener-ja-high-contrast.png", "speaker-ended-clean.png")
    for name in (*taken, *always):
        assert (ARTIFACTS / name).stat().st_size > 10_000, name
