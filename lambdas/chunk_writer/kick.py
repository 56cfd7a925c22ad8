"""Starts a session's streaming worker when it has none, or when its worker died.

Asked after every stored chunk (and the end marker): one consistent read of the
session's lease. A worker that crashed is so replaced within a chunk's time after its
3 s lease expires. Two chunk writers may both start one: only one wins the lease."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared import resources
from shared.worker_kick import LEASE_MS, generation_to_start, read_worker


@dataclass(frozen=True)
class WorkerKick:
    sessions_table: Any
    lambda_client: Any
    worker_function: str
    clock: Callable[[], float]

    def __call__(self, session_id: str) -> int | None:
        """The generation started, or None when a worker is alive or the talk is done."""
        worker = read_worker(self.sessions_table, session_id)
        if worker is None:
            return None  # no such session
        now_ms = int(self.clock() * 1000)
        generation = generation_to_start(worker, now_ms)
        if generation is None or not self._first_to_kick(session_id, now_ms):
            return None
        self.lambda_client.invoke(
            FunctionName=self.worker_function,
            InvocationType="Event",
            Payload=json.dumps({"sessionId": session_id, "generation": generation}),
        )
        return generation

    def _first_to_kick(self, session_id: str, now_ms: int) -> bool:
        """One kick per lease period: the chunks that arrive while a worker starts (a
        cold start takes seconds) do not each start another."""
        try:
            self.sessions_table.update_item(
                Key={resources.SESSIONS_PARTITION_KEY: session_id},
                UpdateExpression="SET workerKickAt = :now",
                ConditionExpression="attribute_not_exists(workerKickAt) OR workerKickAt < :since",
                ExpressionAttributeValues={":now": now_ms, ":since": now_ms - LEASE_MS},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
