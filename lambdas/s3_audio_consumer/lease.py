"""The lease that lets at most one worker stream a session, and the checkpoint a
successor resumes from.

It lives in the session item, attribute `worker`:
- `generation`: 0 for the first worker, +1 for each successor (handover or restart);
- `owner`, `heartbeatAt` (epoch ms): the holder, and when it last proved alive;
- `handoverTo`: the generation the holder handed the session to, so that only that
  successor may take over before the lease expires;
- the checkpoint: `nextIndex` and `emittedUntilMs` (what the listeners already got)
  and `resume`, the ingest cursor from which re-fed audio covers every word not yet
  emitted. A handover leaves `resume` equal to where the predecessor stopped (its
  stream was flushed); after a crash the successor rewinds the ingest cursor to it.

Every write is conditional on the owner, so a worker that lost its lease (it stalled
past the expiry and a replacement took over) cannot move anything any more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from s3_audio_consumer.adapters import cursor_from_item, cursor_to_item
from s3_audio_consumer.batcher import Cursor
from shared import resources
from shared.session_record import SessionRecord


@dataclass(frozen=True)
class Checkpoint:
    next_index: int = 0
    emitted_until_ms: int = 0
    resume: Cursor | None = None


@dataclass(frozen=True)
class SessionView:
    """What the worker needs of the session item on each heartbeat."""

    status: str
    source_language: str
    last_seq: int


@dataclass(frozen=True)
class Claim:
    generation: int
    checkpoint: Checkpoint
    after_crash: bool  # the predecessor did not hand over: rewind to the checkpoint
    session: SessionView


def _failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _view(record: SessionRecord) -> SessionView:
    return SessionView(
        status=record.status,
        source_language=record.source_language,
        last_seq=record.last_seq,
    )


def _checkpoint(worker: dict[str, Any]) -> Checkpoint:
    resume = worker.get("resume")
    return Checkpoint(
        next_index=int(worker.get("nextIndex", 0)),
        emitted_until_ms=int(worker.get("emittedUntilMs", 0)),
        resume=cursor_from_item(resume) if resume else None,
    )


class DynamoLease:
    def __init__(self, sessions_table: Any, lease_ms: int, start_grace_ms: int = 10_000) -> None:
        self._table = sessions_table
        self._lease_ms = lease_ms
        # A new worker's first heartbeat is dated ahead: its warm-up (first stream, a
        # backlog to decode) is not mistaken for a crash. A crash during warm-up is
        # noticed that much later.
        self._start_grace_ms = start_grace_ms

    def _key(self, session_id: str) -> dict[str, str]:
        return {resources.SESSIONS_PARTITION_KEY: session_id}

    def claim(self, session_id: str, generation: int, owner: str, now_ms: int) -> Claim | None:
        """Takes the session for `generation` if nobody holds it: no worker yet (generation
        0), the holder handed it to this generation, or the holder's lease expired."""
        item = self._table.get_item(Key=self._key(session_id), ConsistentRead=True).get("Item")
        if item is None:
            return None
        record = SessionRecord.from_item(item)
        old = dict(record.worker or {})
        if old.get("done"):
            return None
        handed = "handoverTo" in old and int(old["handoverTo"]) == generation
        if old and not handed and int(old.get("heartbeatAt", 0)) >= now_ms - self._lease_ms:
            return None  # alive, and not handing over to us
        if old and generation <= int(old.get("generation", -1)):
            return None  # a stale trigger: a newer generation already ran
        new = {k: v for k, v in old.items() if k != "handoverTo"}
        beat = now_ms + self._start_grace_ms - self._lease_ms
        new.update({"generation": generation, "owner": owner, "heartbeatAt": beat, "done": False})
        condition = "attribute_not_exists(worker)"
        values: dict[str, Any] = {":new": new}
        if old:
            condition = "worker.generation = :old AND worker.heartbeatAt = :beat"
            values.update({":old": old["generation"], ":beat": old["heartbeatAt"]})
        try:
            self._table.update_item(
                Key=self._key(session_id),
                UpdateExpression="SET worker = :new",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _failed(error):
                return None  # another trigger won
            raise
        return Claim(
            generation, _checkpoint(old), after_crash=bool(old) and not handed, session=_view(record)
        )

    def _owned_update(self, session_id: str, owner: str, expression: str, values: dict[str, Any]) -> Any:
        try:
            return self._table.update_item(
                Key=self._key(session_id),
                UpdateExpression=expression,
                ConditionExpression="worker.#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner, **values},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _failed(error):
                return None
            raise

    def heartbeat(self, session_id: str, owner: str, now_ms: int) -> SessionView | None:
        """None when the lease is lost: the worker must stop at once."""
        result = self._owned_update(session_id, owner, "SET worker.heartbeatAt = :now", {":now": now_ms})
        return _view(SessionRecord.from_item(result["Attributes"])) if result else None

    def checkpoint(self, session_id: str, owner: str, point: Checkpoint) -> bool:
        values: dict[str, Any] = {":i": point.next_index, ":e": point.emitted_until_ms}
        expression = "SET worker.nextIndex = :i, worker.emittedUntilMs = :e"
        if point.resume is not None:
            expression += ", worker.resume = :r"
            values[":r"] = cursor_to_item(point.resume)
        return self._owned_update(session_id, owner, expression, values) is not None

    def hand_over(self, session_id: str, owner: str, successor: int) -> bool:
        return (
            self._owned_update(session_id, owner, "SET worker.handoverTo = :g", {":g": successor}) is not None
        )

    def finish(self, session_id: str, owner: str) -> bool:
        """The talk is over and flushed: no successor is to start."""
        return self._owned_update(session_id, owner, "SET worker.done = :t", {":t": True}) is not None
