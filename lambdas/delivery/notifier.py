"""Sends JSON messages to WebSocket connections through API Gateway's management API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


class Notifier:
    """`client` is an apigatewaymanagementapi client whose endpoint is the stage's https URL."""

    def __init__(self, client: Any, max_workers: int = 16) -> None:
        self._client = client
        self._pool = ThreadPoolExecutor(max_workers=max_workers)

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        """True when delivered; False when the connection is gone (410). Other errors
        are retried once, then logged: one listener's fault never stops the others."""
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
        for attempt in (1, 2):
            try:
                self._client.post_to_connection(ConnectionId=connection_id, Data=data)
                return True
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if code == "GoneException" or status == 410:
                    return False
                if attempt == 2:
                    logger.warning("send failed", extra={"connectionId": connection_id, "error": code})
                    return True  # not gone: keep the listener, it may recover
        return True

    def send_many(self, messages: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
        """Sends to connections in parallel, and to each connection in the order given
        (a reply before the counts that follow it); returns the connection ids that are gone."""
        by_connection: dict[str, list[dict[str, Any]]] = {}
        for connection_id, message in messages:
            by_connection.setdefault(connection_id, []).append(message)
        results = self._pool.map(lambda item: self._send_in_order(*item), by_connection.items())
        return [connection_id for connection_id, ok in zip(by_connection, results, strict=True) if not ok]

    def _send_in_order(self, connection_id: str, messages: list[dict[str, Any]]) -> bool:
        return all(self.send(connection_id, message) for message in messages)  # stops at a 410
