"""How long the local Translate, Polly and Transcribe streaming endpoints take at the least,
so that `make local` keeps AWS's timing where the offline engines are faster than the services.

`LOCAL_AWS_LATENCY`: unset, empty or `off`: no floor; `aws`: the estimates below;
`translate=150,polly=200,transcribe_start=500,transcribe_lag=1000`: explicit milliseconds
(a figure left out has no floor).

A floor, not an addition: the offline engines already take real time (Apertium ~tens of
ms, Piper and espeak-ng hundreds), so an endpoint answers when its engine is done or when
the service's round trip would have ended, whichever is later."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass

VARIABLE = "LOCAL_AWS_LATENCY"

# Estimates, not measurements: AWS publishes no latency figures for either service. A
# sentence through TranslateText from a Lambda in the same region is commonly 100-200 ms;
# Polly's neural voices return their first byte in roughly 100-300 ms for a sentence, and
# the whole MP3 of a sentence soon after (the clip is small). We take the middle of each.
AWS_TRANSLATE_MS = 150.0
AWS_POLLY_MS = 200.0
# Transcribe streaming: the HTTP/2 stream's 200 comes after about half a second (public
# logs show the first response within about 1 s, including the TLS set-up the local
# connection pool saves), and results come about 1 s after the words they hold (the
# service's documentation; public logs agree). The lag is a floor measured from the
# arrival of a result's last audio, so Whisper's own time counts towards it.
AWS_TRANSCRIBE_START_MS = 500.0
AWS_TRANSCRIBE_LAG_MS = 1000.0
FIGURES = ("translate", "polly", "transcribe_start", "transcribe_lag")


@dataclass(frozen=True)
class ServiceLatency:
    translate_ms: float = 0.0
    polly_ms: float = 0.0
    transcribe_start_ms: float = 0.0
    transcribe_lag_ms: float = 0.0

    @classmethod
    def aws(cls) -> ServiceLatency:
        return cls(AWS_TRANSLATE_MS, AWS_POLLY_MS, AWS_TRANSCRIBE_START_MS, AWS_TRANSCRIBE_LAG_MS)

    @classmethod
    def parse(cls, text: str) -> ServiceLatency:
        text = text.strip().lower()
        if text in ("", "off", "0"):
            return cls()
        if text == "aws":
            return cls.aws()
        values: dict[str, float] = {}
        for part in text.split(","):
            name, _, ms = part.partition("=")
            if name.strip() not in FIGURES or not ms.strip():
                raise ValueError(
                    f"{VARIABLE}: expected 'aws', 'off' or NAME=MS pairs of {FIGURES}, got {text!r}"
                )
            values[f"{name.strip()}_ms"] = float(ms)
        return cls(**values)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceLatency:
        return cls.parse((os.environ if environ is None else environ).get(VARIABLE, ""))


def remaining_seconds(floor_ms: float, elapsed_seconds: float) -> float:
    """How much longer to hold an answer that took `elapsed_seconds` so far."""
    return max(0.0, floor_ms / 1000 - elapsed_seconds)


async def hold(floor_ms: float, started: float) -> None:
    """Waits out the rest of the floor of an answer begun at `started` (the loop's clock)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(remaining_seconds(floor_ms, loop.time() - started))
