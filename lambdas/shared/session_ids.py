"""Human-friendly session ids: adjective-noun-NNNN.

64 adjectives x 64 nouns x 10,000 numbers = 41 million codes: with unknown codes
limited per address (connection_handler's failed-join limit), guessing a live
session's code is impractical, while a person can still read one out in a room."""

from __future__ import annotations

import re
import secrets

ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clear", "coral", "crisp", "eager", "early",
    "fair", "gentle", "golden", "grand", "green", "happy", "honest", "jolly", "keen", "kind",
    "lively", "lucky", "merry", "mighty", "noble", "polite", "proud", "quick", "quiet", "rapid",
    "silver", "smart", "steady", "sunny", "swift", "tidy", "vivid", "warm", "wise", "young",
    "agile", "azure", "brisk", "cheery", "cosmic", "dapper", "dazzling", "fancy", "fearless", "fresh",
    "gleaming", "humble", "jovial", "lunar", "mellow", "nimble", "placid", "radiant", "rustic", "serene",
    "snowy", "solar", "stellar", "tranquil",
)  # fmt: skip
NOUNS = (
    "badger", "beacon", "canyon", "cedar", "comet", "coral", "delta", "falcon", "forest", "garden",
    "harbor", "heron", "island", "lagoon", "maple", "meadow", "meteor", "orchid", "otter", "panda",
    "pebble", "piano", "planet", "prairie", "quartz", "river", "robin", "sailor", "summit", "tiger",
    "tulip", "valley", "violet", "walrus", "willow", "zebra", "lantern", "harvest", "glacier", "fjord",
    "anchor", "bamboo", "basil", "bison", "breeze", "cactus", "castle", "cobalt", "condor", "dolphin",
    "ember", "finch", "galaxy", "geyser", "hazel", "jaguar", "kettle", "koala", "lotus", "magnet",
    "nectar", "oasis", "puffin", "raven",
)  # fmt: skip

SESSION_ID_PATTERN = re.compile(r"^[a-z]{3,12}-[a-z]{3,12}-\d{4}$")


def new_session_id() -> str:
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(NOUNS)}-{secrets.randbelow(10_000):04d}"


def is_session_id(value: object) -> bool:
    return isinstance(value, str) and bool(SESSION_ID_PATTERN.match(value))
