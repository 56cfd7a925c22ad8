"""Human-friendly session ids: adjective-noun-NNN."""

from __future__ import annotations

import re
import secrets

ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clear", "coral", "crisp", "eager", "early",
    "fair", "gentle", "golden", "grand", "green", "happy", "honest", "jolly", "keen", "kind",
    "lively", "lucky", "merry", "mighty", "noble", "polite", "proud", "quick", "quiet", "rapid",
    "silver", "smart", "steady", "sunny", "swift", "tidy", "vivid", "warm", "wise", "young",
)  # fmt: skip
NOUNS = (
    "badger", "beacon", "canyon", "cedar", "comet", "coral", "delta", "falcon", "forest", "garden",
    "harbor", "heron", "island", "lagoon", "maple", "meadow", "meteor", "orchid", "otter", "panda",
    "pebble", "piano", "planet", "prairie", "quartz", "river", "robin", "sailor", "summit", "tiger",
    "tulip", "valley", "violet", "walrus", "willow", "zebra", "lantern", "harvest", "glacier", "fjord",
)  # fmt: skip

SESSION_ID_PATTERN = re.compile(r"^[a-z]{3,12}-[a-z]{3,12}-\d{3}$")


def new_session_id() -> str:
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(NOUNS)}-{secrets.randbelow(1000):03d}"


def is_session_id(value: object) -> bool:
    return isinstance(value, str) and bool(SESSION_ID_PATTERN.match(value))
