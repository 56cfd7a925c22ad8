"""The summaries every benchmark reports: nearest-rank percentiles and median/p95."""

from __future__ import annotations

import statistics
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float], digits: int | None = None) -> dict[str, float]:
    """n, median and p95; rounded to `digits` decimals (None: whole numbers)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), digits),
        "p95": round(percentile(values, 0.95), digits),
    }
