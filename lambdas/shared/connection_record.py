"""The connection item of the connections table, defined once.

The connection handler writes it at $connect and reads it on every message (whose role
counts, which session it joined); the audience seats and moves listeners in it; the
listener index lists a session's listeners from it. They read it through
`ConnectionRecord.from_item` and name its attributes through `ConnectionRecord.attribute`,
so an attribute's name is written here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from shared import resources
from shared.session_record import as_int

# The item attribute of each record field (below): the one place the item's names are written.
_ATTRIBUTE: dict[str, str] = {
    "connection_id": resources.CONNECTIONS_PARTITION_KEY,
    "role": "role",
    "user_id": "userId",
    "source_ip": "sourceIp",
    "connected_at_ms": "connectedAt",
    "ttl": resources.TTL_ATTRIBUTE,
    "session_id": resources.LISTENERS_INDEX_PARTITION_KEY,
    "target_language": resources.LISTENERS_INDEX_SORT_KEY,
    "rejoin_token": "rejoinToken",
}


@dataclass(frozen=True)
class ConnectionRecord:
    connection_id: str
    role: str = "listener"  # "speaker" or "listener", as the $connect authorizer said
    user_id: str = ""  # the speaker's Cognito user; empty for a listener
    source_ip: str = ""
    connected_at_ms: int = 0
    ttl: int = 0  # epoch seconds: DynamoDB deletes the item
    # Set by createSession (a speaker) or a join (a listener, with its language).
    session_id: str = ""
    target_language: str = ""
    rejoin_token: str = ""  # the one live rejoin token of a listener's seat

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ConnectionRecord:
        def text(name: str, default: str = "") -> str:
            value = item.get(_ATTRIBUTE[name])
            return default if value is None else str(value)

        return cls(
            connection_id=text("connection_id"),
            role=text("role", "listener"),
            user_id=text("user_id"),
            source_ip=text("source_ip"),
            connected_at_ms=as_int(item.get(_ATTRIBUTE["connected_at_ms"])),
            ttl=as_int(item.get(_ATTRIBUTE["ttl"])),
            session_id=text("session_id"),
            target_language=text("target_language"),
            rejoin_token=text("rejoin_token"),
        )

    def to_item(self) -> dict[str, Any]:
        """The item written at $connect. The seat and the token are left out when unset:
        the listener index is sparse on sessionId, and a seat is set by its own update."""
        return {
            _ATTRIBUTE[f.name]: getattr(self, f.name)
            for f in fields(self)
            if not (f.name in _UNSET_WHEN_EMPTY and not getattr(self, f.name))
        }

    @classmethod
    def attribute(cls, name: str) -> str:
        """The item attribute of one record field: attribute("target_language") == "targetLanguage"."""
        return _ATTRIBUTE[name]


assert set(_ATTRIBUTE) == {f.name for f in fields(ConnectionRecord)}
_UNSET_WHEN_EMPTY = frozenset({"session_id", "target_language", "rejoin_token"})
