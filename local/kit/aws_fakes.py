"""Fakes where the SDK meets the network, for the handlers the tests and benches run in
process: the tables the stacks define (on moto), and API Gateway's management API."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from local.resources import create_connections_table, create_sessions_table


def create_tables(dynamodb: Any) -> tuple[Any, Any]:
    return (
        create_sessions_table(dynamodb, "Sessions-test"),
        create_connections_table(dynamodb, "Connections-test"),
    )


@dataclass
class FakeManagementApi:
    """post_to_connection as API Gateway answers it, including 410 for vanished peers."""

    gone: set[str] = field(default_factory=set)
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
        if ConnectionId in self.gone:
            raise ClientError(
                {
                    "Error": {"Code": "GoneException", "Message": "gone"},
                    "ResponseMetadata": {"HTTPStatusCode": 410},
                },
                "PostToConnection",
            )
        self.sent.append((ConnectionId, json.loads(Data)))

    def to(self, connection_id: str) -> list[dict[str, Any]]:
        return [message for cid, message in self.sent if cid == connection_id]


class AtomicWrites:
    """A table whose single-item writes are atomic, as DynamoDB's are. moto's are not
    under threads: two conditional writes that read the same old item can both succeed,
    so a test of what one conditional write guarantees runs its threads through this."""

    def __init__(self, table: object) -> None:
        self._table = table
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        call = getattr(self._table, name)
        if name not in {"update_item", "put_item", "delete_item"}:
            return call

        def atomic(**kwargs: object) -> object:
            with self._lock:
                return call(**kwargs)

        return atomic
