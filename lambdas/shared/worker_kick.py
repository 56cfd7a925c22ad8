"""Which session worker should run, read from the session item's `worker` lease.

The chunk writer asks after every chunk it stores: a session whose worker is missing,
or whose lease has expired (a crash), gets one within a chunk's time. Both the chunk
writer and the worker's lease read the same attribute: the rules are here once."""

from __future__ import annotations

import os
from typing import Any

from shared import env_names, resources
from shared.session_record import SessionRecord

# A worker heartbeats every second; three missed beats and it is replaced. A busy
# machine running every engine at once (`make local` on two cores) sets a longer one.
LEASE_MS = int(os.environ.get(env_names.WORKER_LEASE_MS) or 3000)


def generation_to_start(worker: dict[str, Any] | None, now_ms: int, lease_ms: int = LEASE_MS) -> int | None:
    """The generation to start, or None if a worker is alive or the talk is done."""
    worker = worker or {}
    if worker.get("done"):
        return None
    if not worker:
        return 0
    if int(worker.get("heartbeatAt", 0)) >= now_ms - lease_ms:
        return None  # alive (a handover's successor claims within the lease)
    if "handoverTo" in worker:
        return int(worker["handoverTo"])  # the successor's invoke was lost
    return int(worker.get("generation", 0)) + 1


def read_worker(sessions_table: Any, session_id: str) -> dict[str, Any] | None:
    """The worker lease of a session ({} before its first worker), or None if there is no
    such session."""
    item = sessions_table.get_item(
        Key={resources.SESSIONS_PARTITION_KEY: session_id},
        # The key too: it tells an item with no worker yet from no item.
        ProjectionExpression=", ".join(SessionRecord.attribute(name) for name in ("session_id", "worker")),
        ConsistentRead=True,
    ).get("Item")
    return dict(SessionRecord.from_item(item).worker or {}) if item else None
