"""How long the local Translate and Polly endpoints take at the least, so that `make local`
keeps AWS's timing where the offline engines are faster than the services.

`LOCAL_AWS_LATENCY`: unset, empty or `off`: no floor; `aws`: the estimates below;
`translate=150,polly=200`: explicit milliseconds (a service left out has no floor).

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


@dataclass(frozen=True)
class ServiceLatency:
    translate_ms: float = 0.0
    polly_ms: float = 0.0

    @classmethod
    def aws(cls) -> ServiceLatency:
        return cls(AWS_TRANSLATE_MS, AWS_POLLY_MS)

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
            if name.strip() not in ("translate", "polly") or not ms.strip():
                raise ValueError(
                    f"{VARIABLE}: expected 'aws', 'off' or 'translate=MS,polly=MS', got {text!r}"
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
