"""Routes only the local stack has: a speaker token for the dev identity (`/dev/token`), the
open connections and a session's worker lease (for debugging, and for the tests that count
handovers), and `/healthz`, which also lists the local AWS endpoints' URLs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from local.devauth import DevIdentity
from local.gateway.settings import GatewaySettings
from local.gateway.websocket import Connection
from shared.worker_kick import read_worker

_WORKER_FIELDS = {"generation", "done", "nextIndex", "emittedUntilMs"}


@dataclass(frozen=True)
class DevRoutes:
    settings: GatewaySettings
    identity: DevIdentity
    open_connections: dict[str, Connection]  # the gateway's, by id
    is_ready: Callable[[], bool]

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/dev/token", self.token)
        router.add_get("/dev/connections", self.connections)
        router.add_get("/dev/sessions/{id}/worker", self.session_worker)
        router.add_get("/healthz", self.healthz)

    async def token(self, request: web.Request) -> web.Response:
        email = request.query.get("email", "speaker@local.test")
        return web.json_response({"idToken": self.identity.id_token(email), "expiresIn": 3600})

    async def connections(self, request: web.Request) -> web.Response:
        """The open connections (API Gateway has no such listing)."""
        return web.json_response(
            [
                {
                    "connectionId": c.connection_id,
                    "role": c.authorizer.get("role"),
                    "sourceIp": c.source_ip,
                    "connectedAt": int(c.connected_at * 1000),
                }
                for c in self.open_connections.values()
                if c.ws is not None
            ]
        )

    async def session_worker(self, request: web.Request) -> web.Response:
        """A session's streaming-worker lease: its generation and checkpoint."""
        import boto3

        def read() -> dict[str, Any]:
            table = boto3.resource(
                "dynamodb", endpoint_url=self.settings.moto_url, region_name="us-east-1"
            ).Table(self.settings.sessions_table)
            worker = read_worker(table, request.match_info["id"]) or {}
            return {
                k: int(v) if isinstance(v, int | float) or hasattr(v, "as_tuple") else v
                for k, v in worker.items()
                if k in _WORKER_FIELDS
            }

        return web.json_response(await asyncio.get_running_loop().run_in_executor(None, read))

    async def healthz(self, request: web.Request) -> web.Response:
        endpoints = dict(self.settings.endpoints)
        if not self.is_ready():
            return web.json_response({"status": "starting", "endpoints": endpoints}, status=503)
        return web.json_response(
            {"status": "ok", "connections": len(self.open_connections), "endpoints": endpoints}
        )
