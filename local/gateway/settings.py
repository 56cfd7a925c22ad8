"""What the local gateway serves: ports, names and the test knobs, set by local/runner.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class GatewaySettings:
    port: int
    stage: str
    api_id: str
    authorizer: str
    connection_handler: str
    routes: tuple[str, ...]
    moto_url: str
    apps: dict[str, Path] = field(default_factory=dict)
    # > 1: hold up to this many of a connection's messages and dispatch them in a random order
    # (flushed after websocket.SHUFFLE_FLUSH_SECONDS without a new message). 0 or 1: dispatched
    # as received.
    shuffle_window: int = 0
    shuffle_seed: int | None = None  # None: a different order on every run
    sessions_table: str = ""  # for /dev/sessions/{id}/worker
    served_pairs: str = ""  # LANGUAGE_PAIRS of the stack: the apps offer only these languages
    # The local AWS endpoints' base URLs by service ("translate", "polly"), listed by /healthz.
    endpoints: dict[str, str] = field(default_factory=dict)
