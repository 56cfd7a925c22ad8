"""The speaker app's unsent buffer, the server's seq window and the grace period agree:
an outage as long as the grace period is resent whole, and everything the app may
resend is accepted."""

from __future__ import annotations

import re

from connection_handler.limits import Limits
from local.paths import ROOT

SPEAKER_APP = ROOT / "frontend-client-apps" / "speaker-app" / "src"


def _ts_constant(file: str, name: str) -> int:
    match = re.search(rf"export const {name} = (\d+);", (SPEAKER_APP / file).read_text())
    assert match, f"{name} not found in {file}"
    return int(match.group(1))


def test_the_app_keeps_more_than_the_grace_periods_audio_unsent():
    timeslice_ms = int(re.search(r"const TIMESLICE_MS = (\d+);", (SPEAKER_APP / "main.ts").read_text())[1])
    unsent = _ts_constant("chunks.ts", "UNSENT_LIMIT")
    assert unsent * timeslice_ms / 1000 >= Limits().speaker_grace_seconds


def test_the_server_accepts_every_seq_the_app_may_resend():
    most = _ts_constant("chunks.ts", "UNSENT_LIMIT") + _ts_constant("chunks.ts", "SENT_KEPT")
    assert Limits().max_seq_jump >= most
