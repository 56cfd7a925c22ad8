"""Real browser recordings, made with scripts/capture (tests/fixtures/captures/*)."""

from __future__ import annotations

from local.paths import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
CAPTURES = FIXTURES / "captures"
