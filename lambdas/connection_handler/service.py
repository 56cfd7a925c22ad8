"""The connection handler's domain, one part per what it serves: a connection's own
events (connections.py), the session's life as its speaker leads it (lifecycle.py), audio
chunks (chunks.py), listeners (listeners.py), transcripts (transcripts.py); every rate
limit is the Throttle's (throttle.py). The route table (routes.py) names, for each
action, the part's method that serves it."""

from __future__ import annotations

from dataclasses import dataclass

from connection_handler.access import SessionAccess
from connection_handler.chunks import Chunks
from connection_handler.connections import Connections
from connection_handler.context import Ports
from connection_handler.counters import RateCounters
from connection_handler.lifecycle import Lifecycle
from connection_handler.listeners import Listeners
from connection_handler.throttle import Throttle
from connection_handler.transcripts import Transcripts


@dataclass(frozen=True, repr=False)
class SessionService:
    ports: Ports
    connections: Connections
    lifecycle: Lifecycle
    chunks: Chunks
    listeners: Listeners
    transcripts: Transcripts

    @classmethod
    def build(cls, ports: Ports, counters: RateCounters) -> SessionService:
        """Every part over the same ports; the counters live in the sessions table."""
        throttle = Throttle(counters, ports.limits, ports.clock)
        access = SessionAccess(ports, throttle)
        lifecycle = Lifecycle(ports, access, throttle)
        listeners = Listeners(ports, access, throttle)
        return cls(
            ports=ports,
            connections=Connections(ports, access, throttle, lifecycle, listeners),
            lifecycle=lifecycle,
            chunks=Chunks(ports, access, throttle),
            listeners=listeners,
            transcripts=Transcripts(ports, access, throttle),
        )
