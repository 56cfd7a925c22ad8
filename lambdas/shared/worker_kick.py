"""The session worker's lease rule and start event, defined once.

Three things start a session's streaming worker, and all of them ask the same question
of the session item's `worker` lease: the chunk writer after every stored chunk (a new
talk, or a worker that died while the speaker talks), the worker watch timer every
`WATCH_PERIOD_S` (a worker that died after the last chunk, a parked worker whose session
ended) and a worker handing over to its successor. The rule and the event are here;
the lease itself is written by `s3_audio_consumer/lease.py`.

Lease length, from the latencies it must outlive (docs/ARCHITECTURE.md §6): the
worker beats every 1 s, and no step between two beats blocks longer than ~1.5 s on AWS
(an S3 GET p99 ~0.2 s, 16 of them in parallel; an ffmpeg run of a 600 ms segment
~0.1 s; a DynamoDB write p99 ~0.05 s; the stream start and the last results wait on a
helper thread while the worker keeps beating). 5 s is three missed beats plus that
step: a healthy worker never loses it, a dead one is replaced within lease + one
chunk (the speaker talks) or lease + one watch period (after the last chunk)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from deployment import env_names
from shared import resources
from shared.conditional import conditional_update
from shared.session_ids import is_session_id
from shared.session_record import SessionRecord

LEASE_MS = int(os.environ.get(env_names.WORKER_LEASE_MS) or 5000)
# How often the watch timer looks at a live session's worker (an SQS delay).
WATCH_PERIOD_S = 10


@dataclass(frozen=True)
class WorkerStart:
    """The worker function's event: which session, which generation of its worker."""

    session_id: str
    generation: int

    def payload(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "generation": self.generation}

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> WorkerStart | None:
        session_id, generation = event.get("sessionId"), event.get("generation")
        if not is_session_id(session_id) or not isinstance(generation, int) or generation < 0:
            return None
        return cls(str(session_id), generation)


@dataclass(frozen=True)
class WorkerLease:
    """The `worker` attribute, as the kick reads it."""

    generation: int = -1  # -1: no worker has run yet
    heartbeat_at_ms: int = 0
    handover_to: int | None = None
    done: bool = False
    parked: bool = False  # exited in a long pause, its stream flushed
    parked_seq: int = -1  # the session's lastSeq when it parked

    @classmethod
    def of(cls, worker: Mapping[str, Any] | None) -> WorkerLease:
        worker = worker or {}
        if not worker:
            return cls()
        handover = worker.get("handoverTo")
        return cls(
            generation=int(worker.get("generation", 0)),
            heartbeat_at_ms=int(worker.get("heartbeatAt", 0)),
            handover_to=None if handover is None else int(handover),
            done=bool(worker.get("done", False)),
            parked=bool(worker.get("parked", False)),
            parked_seq=int(worker.get("parkedSeq", -1)),
        )

    def alive(self, now_ms: int, lease_ms: int = LEASE_MS) -> bool:
        return self.generation >= 0 and not self.parked and self.heartbeat_at_ms >= now_ms - lease_ms


def generation_to_start(session: SessionRecord, now_ms: int, lease_ms: int = LEASE_MS) -> int | None:
    """The generation to start, or None if a worker is alive, parked with nothing new to
    hear, or the talk is done."""
    lease = WorkerLease.of(session.worker)
    if lease.done or lease.alive(now_ms, lease_ms):
        return None
    if lease.generation < 0:
        return 0
    if lease.parked:
        new_audio = session.last_seq > lease.parked_seq
        return lease.generation + 1 if new_audio or session.status == "ended" else None
    if lease.handover_to is not None:
        return lease.handover_to  # the successor's invoke was lost
    return lease.generation + 1


_READ = ("session_id", "worker", "last_seq", "status")


def read_session(sessions_table: Any, session_id: str) -> SessionRecord | None:
    """What the kick needs of a session (its key, lease, lastSeq and status), or None if
    there is no such session."""
    item = sessions_table.get_item(
        Key={resources.SESSIONS_PARTITION_KEY: session_id},
        ProjectionExpression=", ".join(f"#{i}" for i in range(len(_READ))),
        ExpressionAttributeNames={f"#{i}": SessionRecord.attribute(name) for i, name in enumerate(_READ)},
        ConsistentRead=True,
    ).get("Item")
    return SessionRecord.from_item(item) if item else None


def read_worker(sessions_table: Any, session_id: str) -> dict[str, Any] | None:
    """The worker lease of a session ({} before its first worker), or None if there is no
    such session."""
    session = read_session(sessions_table, session_id)
    return dict(session.worker or {}) if session else None


@dataclass(frozen=True)
class WorkerKick:
    """Starts a session's worker when it has none, or when its worker died."""

    sessions_table: Any
    lambda_client: Any
    worker_function: str
    clock: Callable[[], float]

    def __call__(self, session_id: str) -> int | None:
        """The generation started, or None when a worker is alive, the talk is done or
        there is no such session."""
        session = read_session(self.sessions_table, session_id)
        if session is None:
            return None
        now_ms = int(self.clock() * 1000)
        generation = generation_to_start(session, now_ms)
        if generation is None or not self._first_to_kick(session_id, now_ms):
            return None
        self.lambda_client.invoke(
            FunctionName=self.worker_function,
            InvocationType="Event",
            Payload=json.dumps(WorkerStart(session_id, generation).payload()),
        )
        return generation

    def _first_to_kick(self, session_id: str, now_ms: int) -> bool:
        """One kick per lease period: the chunks that arrive while a worker starts (a
        cold start takes seconds) do not each start another."""
        return conditional_update(
            self.sessions_table,
            Key={resources.SESSIONS_PARTITION_KEY: session_id},
            UpdateExpression="SET #kick = :now",
            ConditionExpression="attribute_not_exists(#kick) OR #kick < :since",
            ExpressionAttributeNames={"#kick": SessionRecord.attribute("worker_kick_at_ms")},
            ExpressionAttributeValues={":now": now_ms, ":since": now_ms - LEASE_MS},
        )
