"""A local stand-in for API Gateway's WebSocket API, and the small HTTP services around it,
all on one port, one module each:

- `websocket.py`: `GET /ws`, the WebSocket API with its $connect authorizer, routes and
  $disconnect;
- `management.py`: `POST/GET/DELETE /{stage}/@connections/{id}`, the management API;
- `lambda_api.py`: `POST /2015-03-31/functions/{name}/invocations`, the Lambda Invoke API;
- `s3_proxy.py`: `/s3/...`, S3 (moto), so that presigned clip URLs share this origin;
- `dev_routes.py`: `/dev/token`, `/dev/connections`, `/dev/sessions/{id}/worker`, `/healthz`;
- `static.py`: `/config.json` and the browser apps under `/speaker/` and `/listener/`."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from local.devauth import DevIdentity
from local.gateway.dev_routes import DevRoutes
from local.gateway.lambda_api import Functions
from local.gateway.management import MAX_POST_BYTES, ManagementApi
from local.gateway.s3_proxy import S3Proxy
from local.gateway.settings import GatewaySettings
from local.gateway.static import StaticFiles
from local.gateway.websocket import MAX_FRAME_BYTES, Connection, WebSocketApi
from local.lambda_host import LambdaHost

__all__ = ["MAX_FRAME_BYTES", "MAX_POST_BYTES", "Gateway", "GatewaySettings"]


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        host: LambdaHost,
        identity: DevIdentity,
        is_ready: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self.connections: dict[str, Connection] = {}
        self.functions = Functions(host)
        self.websocket = WebSocketApi(settings, self.connections, self.functions.run)
        self.management = ManagementApi(settings.stage, self.connections)
        self.s3 = S3Proxy(settings.moto_url)
        self.dev = DevRoutes(settings, identity, self.connections, is_ready)
        self.static = StaticFiles(settings)

    def route_for(self, body: str) -> str:
        return self.websocket.route_for(body)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        for part in (self.websocket, self.management, self.functions, self.s3, self.dev, self.static):
            part.add_routes(app.router)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        await self.websocket.close()
        await self.s3.close()
        self.functions.close()
