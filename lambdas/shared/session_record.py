"""The session item of the sessions table, defined once.

The connection handler creates and moves it, the audience counts its listeners in it,
the consumer keeps its ingest cursor in it and the processor reads its speaker from it:
they all read it through `SessionRecord.from_item`, and name its attributes through
`SessionRecord.attributes`, so an attribute's name is written here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from shared import resources

SessionStatus = str  # "active", "paused", "suspended" or "ended"


def as_int(value: Any, default: int = 0) -> int:
    """An integer attribute as DynamoDB returns it (Decimal), or the default if absent."""
    return int(value) if isinstance(value, int | Decimal) else default


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    status: SessionStatus = "active"
    # Every session is created with its language; "en" is what a hand-made item (a replay,
    # a test) without one is heard in.
    source_language: str = "en"
    title: str = ""
    speaker_connection_id: str = ""
    speaker_user_id: str = ""
    created_at_ms: int = 0
    expires_at: int = 0  # epoch seconds: the session's maximum length
    ttl: int = 0  # epoch seconds: DynamoDB deletes the item
    # The highest chunk seq accepted, and the one the speaker's end named (-1: none).
    last_seq: int = -1
    final_seq: int = -1
    ended_at_ms: int | None = None
    # While the speaker is away: when the connection dropped, and the status to go back to.
    suspended_at_ms: int | None = None
    resume_status: SessionStatus = "active"
    # Moved by delivery.audience's conditional updates, never written whole after creation.
    listener_total: int = 0
    listener_counts: Mapping[str, int] = field(default_factory=dict)
    # The consumer's own sub-documents, read and written only by s3_audio_consumer: its
    # ingest cursor (adapters.py) and the lease of the worker that streams the talk (lease.py).
    ingest: Mapping[str, Any] | None = None
    worker: Mapping[str, Any] | None = None
    # shared/worker_kick.py and worker_watch.py: the last kick (one per lease period) and
    # the live link of the session's worker watch chain (epoch ms).
    worker_kick_at_ms: int | None = None
    worker_watch_at_ms: int | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> SessionRecord:
        """The record of a whole item, or of the attributes a projection returned (the
        others take their defaults)."""

        def value(name: str) -> Any:
            return item.get(_ATTRIBUTE[name])

        counts = value("listener_counts") or {}
        suspended, ended = value("suspended_at_ms"), value("ended_at_ms")
        return cls(
            session_id=str(value("session_id") or ""),
            status=str(value("status") or "active"),
            source_language=str(value("source_language") or "en"),
            title=str(value("title") or ""),
            speaker_connection_id=str(value("speaker_connection_id") or ""),
            speaker_user_id=str(value("speaker_user_id") or ""),
            created_at_ms=as_int(value("created_at_ms")),
            expires_at=as_int(value("expires_at")),
            ttl=as_int(value("ttl")),
            last_seq=as_int(value("last_seq"), -1),
            final_seq=as_int(value("final_seq"), -1),
            ended_at_ms=None if ended is None else as_int(ended),
            suspended_at_ms=None if suspended is None else as_int(suspended),
            resume_status=str(value("resume_status") or "active"),
            listener_total=as_int(value("listener_total")),
            # A language whose last listener left keeps a 0 entry: it is nobody's count.
            listener_counts={str(lang): int(n) for lang, n in sorted(counts.items()) if int(n) > 0},
            ingest=value("ingest"),
            worker=value("worker"),
            worker_kick_at_ms=None
            if value("worker_kick_at_ms") is None
            else as_int(value("worker_kick_at_ms")),
            worker_watch_at_ms=None
            if value("worker_watch_at_ms") is None
            else as_int(value("worker_watch_at_ms")),
        )

    def to_item(self) -> dict[str, Any]:
        """The item a new session is created with. Optional attributes that are unset are
        left out; the listener counters are written (their map must exist for the
        audience's updates of its keys)."""
        item: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name in _UNSET_WHEN_DEFAULT and value == f.default):
                continue
            item[_ATTRIBUTE[f.name]] = dict(value) if f.name == "listener_counts" else value
        return item

    @classmethod
    def attributes(cls, **values: Any) -> dict[str, Any]:
        """Attribute names for record fields, for an update: attributes(status="ended",
        final_seq=7) == {"status": "ended", "finalSeq": 7}."""
        unknown = set(values) - set(_ATTRIBUTE)
        if unknown:
            raise TypeError(f"not fields of a session record: {', '.join(sorted(unknown))}")
        return {_ATTRIBUTE[name]: value for name, value in values.items()}

    @classmethod
    def attribute(cls, name: str) -> str:
        """The item attribute of one record field: attribute("suspended_at_ms") == "suspendedAt"."""
        return _ATTRIBUTE[name]


# The item attribute of each field: the one place the item's names are written.
_ATTRIBUTE: dict[str, str] = {
    "session_id": resources.SESSIONS_PARTITION_KEY,
    "status": "status",
    "source_language": "sourceLanguage",
    "title": "title",
    "speaker_connection_id": "speakerConnectionId",
    "speaker_user_id": "speakerUserId",
    "created_at_ms": "createdAt",
    "expires_at": "expiresAt",
    "ttl": resources.TTL_ATTRIBUTE,
    "last_seq": "lastSeq",
    "final_seq": "finalSeq",
    "ended_at_ms": "endedAt",
    "suspended_at_ms": "suspendedAt",
    "resume_status": "resumeStatus",
    "listener_total": "listenerTotal",
    "listener_counts": "listenerCounts",
    "ingest": "ingest",
    "worker": "worker",
    "worker_kick_at_ms": "workerKickAt",
    "worker_watch_at_ms": "workerWatchAt",
}
assert set(_ATTRIBUTE) == {f.name for f in fields(SessionRecord)}
# Written only once something sets them: a new session has no seq, end or suspension yet.
_UNSET_WHEN_DEFAULT = frozenset({"last_seq", "final_seq", "resume_status"})
