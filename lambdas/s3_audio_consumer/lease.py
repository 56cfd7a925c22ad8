"""The lease that lets at most one worker stream a session, and the checkpoint a
successor resumes from.

It lives in the session item, attribute `worker`:
- `generation`: 0 for the first worker, +1 for each successor (handover or restart);
- `owner`, `heartbeatAt` (epoch ms): the holder, and when it last proved alive;
- `handoverTo`: the generation the holder handed the session to, so that only that
  successor may take over before the lease expires;
- `parked`, `parkedSeq`: the holder exited in a long pause with its stream flushed (the
  lease is free); the next chunk, or the end of the session, starts a successor;
- `nextGeneration`, `standby`: before a handover the holder starts its successor early
  (`prepare`); the successor opens its stream and registers (`stand_by`), then takes
  the session the moment `handoverTo` names it;
- the checkpoint: `nextIndex` and `emittedUntilMs` (what the listeners already got)
  and `resume`, the ingest cursor from which re-fed audio covers every word not yet
  emitted. A handover leaves `resume` equal to where the predecessor stopped (its
  stream was flushed); after a crash the successor rewinds the ingest cursor to it.

Every write is conditional on the owner, so a worker that lost its lease (it stalled
past the expiry and a replacement took over) cannot move anything any more. A claim
sets only the holder's fields (never the checkpoint) and returns the item as it left
it: a checkpoint the old holder wrote after the claim's read is kept, never put back to
an older one. Who may claim is `shared/worker_kick.py`'s rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from s3_audio_consumer.adapters import cursor_from_item, cursor_to_item
from s3_audio_consumer.planner import Cursor
from shared import resources
from shared.session_record import SessionRecord
from shared.worker_kick import WorkerLease


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
    final_seq: int = -1
    expires_at: int = 0  # epoch seconds; 0: unknown
    speaker_connection_id: str = ""  # where the speaker's live words go; "" while it is away

    def final(self, now: float) -> int | None:
        """The last chunk of the talk once it is over (ended, or past its maximum length),
        from the session item itself: no end marker is needed to end a worker."""
        if self.status == "ended" or (self.expires_at and now >= self.expires_at):
            return max(self.final_seq, self.last_seq)
        return None


@dataclass(frozen=True)
class Claim:
    generation: int
    checkpoint: Checkpoint
    after_crash: bool  # the predecessor neither handed over nor parked: rewind to the checkpoint
    session: SessionView


def _failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _view(record: SessionRecord) -> SessionView:
    return SessionView(
        status=record.status,
        source_language=record.source_language,
        last_seq=record.last_seq,
        final_seq=record.final_seq,
        expires_at=record.expires_at,
        speaker_connection_id=record.speaker_connection_id,
    )


def _checkpoint(worker: Mapping[str, Any]) -> Checkpoint:
    resume = worker.get("resume")
    return Checkpoint(
        next_index=int(worker.get("nextIndex", 0)),
        emitted_until_ms=int(worker.get("emittedUntilMs", 0)),
        resume=cursor_from_item(resume) if resume else None,
    )


def _claimable(lease: WorkerLease, generation: int, now_ms: int, lease_ms: int) -> bool:
    if lease.done:
        return False
    if lease.generation >= 0 and generation <= lease.generation:
        return False  # a stale trigger: this or a newer generation already ran
    return lease.handover_to == generation or not lease.alive(now_ms, lease_ms)


class DynamoLease:
    def __init__(self, sessions_table: Any, lease_ms: int, start_grace_ms: int = 10_000) -> None:
        self._table = sessions_table
        self._lease_ms = lease_ms
        # A new worker's beats are dated ahead until its first segment reaches the stream:
        # a warm-up (first stream, a backlog to read) is never mistaken for a crash. A
        # crash during warm-up is noticed that much later.
        self.start_grace_ms = start_grace_ms

    def _key(self, session_id: str) -> dict[str, str]:
        return {resources.SESSIONS_PARTITION_KEY: session_id}

    def claim(self, session_id: str, generation: int, owner: str, now_ms: int) -> Claim | None:
        """Takes the session for `generation` if nobody holds it: no worker yet (generation
        0), the holder handed it to this generation or parked, or its lease expired."""
        item = self._table.get_item(Key=self._key(session_id), ConsistentRead=True).get("Item")
        if item is None:
            return None
        old = WorkerLease.of(SessionRecord.from_item(item).worker)
        if not _claimable(old, generation, now_ms, self._lease_ms):
            return None
        holder = {"generation": generation, "owner": owner, "heartbeatAt": self.grace_beat(now_ms)}
        try:
            result = self._take(session_id, old, holder)
        except ClientError as error:
            if _failed(error):
                return None  # another trigger won, or the holder beat meanwhile
            raise
        record = SessionRecord.from_item(result["Attributes"])
        handed = old.handover_to == generation or old.parked
        return Claim(
            generation,
            _checkpoint(record.worker or {}),
            after_crash=old.generation >= 0 and not handed,
            session=_view(record),
        )

    def _take(self, session_id: str, old: WorkerLease, holder: dict[str, Any]) -> Any:
        names = {"#owner": "owner"}
        values: dict[str, Any]
        if old.generation < 0:
            values = {":new": {**holder, "done": False}}
            expression, condition = "SET worker = :new", "attribute_not_exists(worker)"
            names = {}
        else:
            values = {f":{k}": v for k, v in holder.items()}
            values.update({":f": False, ":old": old.generation, ":beat": old.heartbeat_at_ms})
            expression = (
                "SET worker.generation = :generation, worker.#owner = :owner, "
                "worker.heartbeatAt = :heartbeatAt, worker.done = :f, worker.parked = :f "
                "REMOVE worker.handoverTo, worker.nextGeneration, worker.standby"
            )
            condition = "worker.generation = :old AND worker.heartbeatAt = :beat"
        kwargs: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        return self._table.update_item(
            Key=self._key(session_id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            **kwargs,
        )

    def grace_beat(self, now_ms: int) -> int:
        """The heartbeat a worker writes before its first progress."""
        return now_ms + self.start_grace_ms - self._lease_ms

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

    def heartbeat(self, session_id: str, owner: str, beat_ms: int) -> SessionView | None:
        """None when the lease is lost: the worker must stop at once."""
        result = self._owned_update(session_id, owner, "SET worker.heartbeatAt = :now", {":now": beat_ms})
        return _view(SessionRecord.from_item(result["Attributes"])) if result else None

    def checkpoint(self, session_id: str, owner: str, point: Checkpoint) -> bool:
        expression, values = _checkpoint_update(point)
        return self._owned_update(session_id, owner, expression, values) is not None

    def prepare(self, session_id: str, owner: str, successor: int) -> bool:
        """Names the successor that may stand by for this worker's handover."""
        expression = "SET worker.nextGeneration = :g"
        return self._owned_update(session_id, owner, expression, {":g": successor}) is not None

    def stand_by(self, session_id: str, generation: int, ready: bool = True) -> SessionView | None:
        """The successor registers as ready (its stream is open), or withdraws; only the
        generation the holder prepared for may. None if it was not prepared for."""
        expression = "SET worker.standby = :g" if ready else "REMOVE worker.standby"
        try:
            result = self._table.update_item(
                Key=self._key(session_id),
                UpdateExpression=expression,
                ConditionExpression="worker.nextGeneration = :g",
                ExpressionAttributeValues={":g": generation},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _failed(error):
                return None
            raise
        return _view(SessionRecord.from_item(result["Attributes"]))

    def hand_over(self, session_id: str, owner: str, successor: int) -> bool | None:
        """Hands the session to `successor`: True if it stands by (it takes over at once),
        False if it must be started; None if the lease was lost."""
        result = self._owned_update(session_id, owner, "SET worker.handoverTo = :g", {":g": successor})
        if result is None:
            return None
        worker = SessionRecord.from_item(result["Attributes"]).worker or {}
        return int(worker.get("standby", -1)) == successor

    def finish(self, session_id: str, owner: str) -> bool:
        """The talk is over and flushed: no successor is to start."""
        return self._owned_update(session_id, owner, "SET worker.done = :t", {":t": True}) is not None

    def park(self, session_id: str, owner: str, point: Checkpoint, parked_seq: int) -> bool:
        """Frees the session in a long pause, its stream flushed and `point` its checkpoint:
        the next chunk after `parked_seq` (or the session's end) starts a successor that
        goes on from the cursor, as after a handover."""
        expression, values = _checkpoint_update(point)
        expression += ", worker.parked = :t, worker.parkedSeq = :seq, worker.heartbeatAt = :zero"
        values.update({":t": True, ":seq": parked_seq, ":zero": 0})
        return self._owned_update(session_id, owner, expression, values) is not None

    def release(self, session_id: str, owner: str) -> bool:
        """Gives the lease up at once (the worker cannot go on): the next kick starts a
        replacement that resumes from the checkpoint, without waiting for the expiry."""
        return (
            self._owned_update(session_id, owner, "SET worker.heartbeatAt = :zero", {":zero": 0}) is not None
        )


def _checkpoint_update(point: Checkpoint) -> tuple[str, dict[str, Any]]:
    values: dict[str, Any] = {":i": point.next_index, ":e": point.emitted_until_ms}
    expression = "SET worker.nextIndex = :i, worker.emittedUntilMs = :e"
    if point.resume is not None:
        expression += ", worker.resume = :r"
        values[":r"] = cursor_to_item(point.resume)
    return expression, values
