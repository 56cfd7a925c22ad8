"""API Gateway's management API (`POST/GET/DELETE /{stage}/@connections/{id}`), as boto3's
`apigatewaymanagementapi` client calls it. Posting to an unknown connection, or to one whose
$connect has not finished, is 410 GoneException; a payload over 128 KB is 413."""

from __future__ import annotations

import time

import aiohttp
from aiohttp import web

from local.gateway.websocket import Connection

MAX_POST_BYTES = 128 * 1024  # API Gateway postToConnection payload limit (413 above it)


def _gone(connection_id: str) -> web.Response:
    return web.json_response(
        {"message": f"connection {connection_id} is gone"},
        status=410,
        headers={"x-amzn-ErrorType": "GoneException"},
    )


class ManagementApi:
    def __init__(self, stage: str, connections: dict[str, Connection]) -> None:
        self._stage = stage
        self._connections = connections

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for prefix in (f"/{self._stage}", ""):
            router.add_route("POST", prefix + "/@connections/{id}", self.post_to_connection)
            router.add_route("GET", prefix + "/@connections/{id}", self.get_connection)
            router.add_route("DELETE", prefix + "/@connections/{id}", self.delete_connection)

    def _open(self, connection_id: str) -> web.WebSocketResponse | None:
        """The socket of a connection that finished $connect and is not closed."""
        connection = self._connections.get(connection_id)
        if connection is None or connection.ws is None or connection.ws.closed:
            return None
        return connection.ws

    async def post_to_connection(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["id"]
        data = await request.read()
        if len(data) > MAX_POST_BYTES:
            return web.json_response(
                {"message": "payload too large"},
                status=413,
                headers={"x-amzn-ErrorType": "PayloadTooLargeException"},
            )
        ws = self._open(connection_id)
        if ws is None:
            return _gone(connection_id)
        try:
            await ws.send_str(data.decode("utf-8"))
        except (ConnectionResetError, RuntimeError):
            return _gone(connection_id)
        return web.Response(status=200)

    async def get_connection(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["id"]
        connection = self._connections.get(connection_id)
        if connection is None or self._open(connection_id) is None:
            return _gone(connection_id)
        iso = "%Y-%m-%dT%H:%M:%S.000Z"
        return web.json_response(
            {
                "connectedAt": time.strftime(iso, time.gmtime(connection.connected_at)),
                "lastActiveAt": time.strftime(iso, time.gmtime(connection.last_active)),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            }
        )

    async def delete_connection(self, request: web.Request) -> web.Response:
        ws = self._open(request.match_info["id"])
        if ws is None:
            return _gone(request.match_info["id"])
        await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"closed by the server")
        return web.Response(status=204)
