"""The limits are defined once (connection_handler.limits.Limits) and every document
states the same numbers."""

from __future__ import annotations

import re

import pytest

from connection_handler.limits import Limits
from local.paths import ROOT
from transcripts.service import TRANSCRIPT_REUSE_SECONDS

DOCS = ROOT / "docs"
PROTOCOL = (DOCS / "PROTOCOL.md").read_text()
ARCHITECTURE = (DOCS / "ARCHITECTURE.md").read_text()
LIMITS = Limits()


def row(table_text: str, starts: str) -> str:
    (line,) = [line for line in table_text.splitlines() if line.startswith(f"| {starts}")]
    return line


def section(text: str, heading: str) -> str:
    return text.split(heading)[1].split("\n## ")[0]


def n(value: int) -> str:
    return f"{value:,}"


def states(text: str, value: int) -> bool:
    """The number, written with thousands separators, stands on its own in the text."""
    return re.search(rf"(?<![\d,]){re.escape(n(value))}(?!\d|,\d)", text) is not None


PROTOCOL_ROWS = [
    ("listeners per session", [LIMITS.max_listeners]),
    ("joins per source IP per minute", [LIMITS.joins_per_ip_per_minute]),
    ("joins per session per second", [LIMITS.joins_per_session_per_second]),
    ("misses per connection per minute", [LIMITS.misses_per_connection_per_minute]),
    (
        "misses per source IP per minute",
        [LIMITS.misses_per_ip_per_minute, LIMITS.misses_per_connection_per_minute],
    ),
    ("audio chunks per second per session", [LIMITS.chunks_per_second]),
    (
        "`getTranscript` per connection per minute",
        [
            LIMITS.transcripts_per_connection_per_minute,
            LIMITS.transcripts_per_ip_per_minute,
            LIMITS.transcripts_per_session_per_minute,
            TRANSCRIPT_REUSE_SECONDS,
        ],
    ),
    ("speaker grace period", [LIMITS.speaker_grace_seconds]),
]


@pytest.mark.parametrize(("name", "values"), PROTOCOL_ROWS, ids=[name for name, _ in PROTOCOL_ROWS])
def test_the_protocols_limits_table_states_the_limits(name, values):
    line = row(section(PROTOCOL, "## Limits"), name)
    for value in values:
        assert states(line, value), (name, value, line)


def test_the_architecture_states_the_same_join_and_miss_limits():
    joins = section(ARCHITECTURE, "## 4. Joins")
    for value in (
        LIMITS.joins_per_session_per_second,
        LIMITS.joins_per_ip_per_minute,
        LIMITS.misses_per_connection_per_minute,
        LIMITS.misses_per_ip_per_minute,
    ):
        assert states(joins, value), value
    transcripts = section(ARCHITECTURE, "## 8. Transcripts")
    for value in (
        LIMITS.transcripts_per_connection_per_minute,
        LIMITS.transcripts_per_ip_per_minute,
        LIMITS.transcripts_per_session_per_minute,
        TRANSCRIPT_REUSE_SECONDS,
    ):
        assert states(transcripts, value), value


def test_no_document_keeps_an_old_figure():
    for stale in ("200 joins per session", "3,000 per address", "30 *unknown* codes", "FAILED_JOINS_PER_IP"):
        assert stale not in PROTOCOL + ARCHITECTURE, stale
