"""A local stand-in for API Gateway's WebSocket API, and the small HTTP services around it.

On one port:
- `GET /ws`: WebSocket. `$connect` runs the authorizer and then the connect route,
  exactly as API Gateway does (a Deny is HTTP 403, a non-200 from $connect is that
  status); messages are routed on `action`; `$disconnect` runs when the socket closes.
  A message over 128 KB closes the socket with 1009, as API Gateway does.
- `POST/GET/DELETE /{stage}/@connections/{id}`: the management API that boto3's
  `apigatewaymanagementapi` client calls. Posting to an unknown connection, or to one
  whose $connect has not finished, is 410 GoneException.
- `POST /2015-03-31/functions/{name}/invocations`: the Lambda Invoke API.
- `/s3/...`: S3 (moto), so that presigned clip URLs share this origin.
- `GET /dev/token` (a speaker ID token for the dev identity), `GET /dev/connections`
  (the open connections, for debugging), `GET /healthz`,
  `GET /config.json` and the browser apps under `/speaker/` and `/listener/`."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from local.devauth import DevIdentity
from local.lambda_host import LambdaHost, UnknownFunction

logger = logging.getLogger("local.gateway")

MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway WebSocket message limit (frames of 32 KB)
IDLE_TIMEOUT_SECONDS = 600  # API Gateway closes idle connections after 10 minutes
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@dataclass(frozen=True)
class GatewaySettings:
    port: int
    stage: str
    api_id: str
    authorizer: str
    connection_handler: str
    routes: tuple[str, ...]
    moto_url: str
    apps: dict[str, Path] = field(default_factory=dict)


@dataclass
class Connection:
    connection_id: str
    source_ip: str
    user_agent: str
    connected_at: float
    authorizer: dict[str, Any]
    ws: web.WebSocketResponse | None = None
    last_active: float = 0.0


def new_connection_id() -> str:
    """Shaped like API Gateway's: 12 base64 characters and '='."""
    return base64.b64encode(secrets.token_bytes(9)).decode()[:12].replace("/", "_").replace("+", "-") + "="


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        host: LambdaHost,
        identity: DevIdentity,
        is_ready: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self.host = host
        self.identity = identity
        self.is_ready = is_ready
        self.connections: dict[str, Connection] = {}
        self._routes_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="route")
        self._http: aiohttp.ClientSession | None = None

    # -- app --------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        stage = self.settings.stage
        app.router.add_get("/ws", self.websocket)
        for prefix in (f"/{stage}", ""):
            app.router.add_route("POST", prefix + "/@connections/{id}", self.post_to_connection)
            app.router.add_route("GET", prefix + "/@connections/{id}", self.get_connection)
            app.router.add_route("DELETE", prefix + "/@connections/{id}", self.delete_connection)
        app.router.add_post("/2015-03-31/functions/{name}/invocations", self.lambda_invoke)
        app.router.add_route("*", "/s3/{tail:.*}", self.s3_proxy)
        app.router.add_get("/dev/token", self.dev_token)
        app.router.add_get("/dev/connections", self.dev_connections)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/config.json", self.config_json)
        app.router.add_get("/", self.index)
        for name, folder in self.settings.apps.items():
            app.router.add_get(f"/{name}", self._redirect(f"/{name}/"))
            app.router.add_get(f"/{name}/", self._app_index(folder))
            app.router.add_static(f"/{name}/", folder)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        for connection in list(self.connections.values()):
            if connection.ws is not None:
                await connection.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server stopping")
        if self._http is not None:
            await self._http.close()
        self._routes_executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, name: str, event: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._routes_executor, self.host.invoke, name, event)

    # -- events as API Gateway shapes them ----------------------------------------
    def _request_context(self, connection: Connection, event_type: str, route: str) -> dict[str, Any]:
        now = time.time()
        return {
            "routeKey": route,
            "eventType": event_type,
            "messageId": uuid.uuid4().hex[:16] if event_type == "MESSAGE" else None,
            "extendedRequestId": uuid.uuid4().hex,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "messageDirection": "IN",
            "stage": self.settings.stage,
            "connectedAt": int(connection.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": uuid.uuid4().hex,
            "domainName": f"127.0.0.1:{self.settings.port}",
            "connectionId": connection.connection_id,
            "apiId": self.settings.api_id,
            **({"authorizer": connection.authorizer} if connection.authorizer else {}),
        }

    def route_for(self, body: str) -> str:
        """API Gateway's route selection on `$request.body.action`."""
        try:
            action = json.loads(body).get("action")
        except (ValueError, AttributeError):
            return "$default"
        return action if isinstance(action, str) and action in self.settings.routes else "$default"

    # -- WebSocket ------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        headers = dict(request.headers)
        connection = Connection(
            connection_id=new_connection_id(),
            source_ip=request.remote or "127.0.0.1",
            user_agent=headers.get("User-Agent", ""),
            connected_at=time.time(),
            authorizer={},
        )
        api = f"{self.settings.api_id}/{self.settings.stage}"
        method_arn = f"arn:aws:execute-api:us-east-1:000000000000:{api}/$connect"
        connect_context = self._request_context(connection, "CONNECT", "$connect")
        try:
            policy = await self._run(
                self.settings.authorizer,
                {
                    "type": "REQUEST",
                    "methodArn": method_arn,
                    "headers": headers,
                    "queryStringParameters": query or None,
                    "requestContext": connect_context,
                },
            )
        except Exception:
            logger.exception("authorizer failed")
            return web.json_response({"message": "Internal server error"}, status=500)
        if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            return web.json_response({"message": "Forbidden"}, status=403)
        connection.authorizer = {**policy.get("context", {}), "principalId": policy.get("principalId")}
        self.connections[connection.connection_id] = connection  # posts still 410 until open
        try:
            result = await self._run(
                self.settings.connection_handler,
                {
                    "headers": headers,
                    "queryStringParameters": query or None,
                    "requestContext": self._request_context(connection, "CONNECT", "$connect"),
                    "isBase64Encoded": False,
                },
            )
        except Exception:
            logger.exception("$connect failed")
            self.connections.pop(connection.connection_id, None)
            return web.json_response({"message": "Internal server error"}, status=500)
        status = int((result or {}).get("statusCode", 200))
        if status != 200:
            self.connections.pop(connection.connection_id, None)
            return web.Response(
                status=status, text=(result or {}).get("body", ""), content_type="application/json"
            )

        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, receive_timeout=IDLE_TIMEOUT_SECONDS)
        await ws.prepare(request)
        connection.ws = ws
        connection.last_active = time.time()
        logger.info("connected %s (%s)", connection.connection_id, connection.authorizer.get("role"))
        try:
            while True:
                try:
                    message = await ws.receive()
                except TimeoutError:
                    await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"Going away")
                    break
                if message.type == aiohttp.WSMsgType.TEXT:
                    body = message.data
                elif message.type == aiohttp.WSMsgType.BINARY:
                    body = message.data.decode("utf-8", errors="replace")
                else:
                    break
                connection.last_active = time.time()
                route = self.route_for(body)
                event = {
                    "requestContext": self._request_context(connection, "MESSAGE", route),
                    "body": body,
                    "isBase64Encoded": False,
                }
                try:
                    await self._run(self.settings.connection_handler, event)
                except Exception:
                    logger.exception("route %s failed", route)
        finally:
            self.connections.pop(connection.connection_id, None)
            logger.info("disconnected %s", connection.connection_id)
            try:
                await self._run(
                    self.settings.connection_handler,
                    {"requestContext": self._request_context(connection, "DISCONNECT", "$disconnect")},
                )
            except Exception:
                logger.exception("$disconnect failed")
        return ws

    # -- management API ---------------------------------------------------------------
    @staticmethod
    def _gone(connection_id: str) -> web.Response:
        return web.json_response(
            {"message": f"connection {connection_id} is gone"},
            status=410,
            headers={"x-amzn-ErrorType": "GoneException"},
        )

    def _open(self, connection_id: str) -> Connection | None:
        connection = self.connections.get(connection_id)
        if connection is None or connection.ws is None or connection.ws.closed:
            return None
        return connection

    async def post_to_connection(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["id"]
        data = await request.read()
        if len(data) > MAX_MESSAGE_BYTES:
            return web.json_response(
                {"message": "payload too large"},
                status=413,
                headers={"x-amzn-ErrorType": "PayloadTooLargeException"},
            )
        connection = self._open(connection_id)
        if connection is None or connection.ws is None:
            return self._gone(connection_id)
        try:
            await connection.ws.send_str(data.decode("utf-8"))
        except (ConnectionResetError, RuntimeError):
            return self._gone(connection_id)
        return web.Response(status=200)

    async def get_connection(self, request: web.Request) -> web.Response:
        connection = self._open(request.match_info["id"])
        if connection is None:
            return self._gone(request.match_info["id"])
        iso = "%Y-%m-%dT%H:%M:%S.000Z"
        return web.json_response(
            {
                "connectedAt": time.strftime(iso, time.gmtime(connection.connected_at)),
                "lastActiveAt": time.strftime(iso, time.gmtime(connection.last_active)),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            }
        )

    async def delete_connection(self, request: web.Request) -> web.Response:
        connection = self._open(request.match_info["id"])
        if connection is None or connection.ws is None:
            return self._gone(request.match_info["id"])
        await connection.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"closed by the server")
        return web.Response(status=204)

    # -- Lambda Invoke API -------------------------------------------------------------
    async def lambda_invoke(self, request: web.Request) -> web.Response:
        name = request.match_info["name"].split(":")[-1]
        payload = await request.read()
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        try:
            if invocation_type == "Event":
                self.host.invoke_async(name, payload)
                return web.Response(status=202)
            result = await self._run(name, json.loads(payload or b"{}"))
        except UnknownFunction:
            return web.json_response(
                {"Message": f"Function not found: {name}"},
                status=404,
                headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        except Exception as error:
            return web.json_response(
                {"errorMessage": str(error), "errorType": type(error).__name__},
                headers={"X-Amz-Function-Error": "Unhandled"},
            )
        return web.json_response(result)

    # -- S3, so that clip URLs share the apps' origin ------------------------------------
    async def s3_proxy(self, request: web.Request) -> web.StreamResponse:
        if self._http is None:
            self._http = aiohttp.ClientSession(auto_decompress=False)
        raw = request.raw_path[len("/s3") :] or "/"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with self._http.request(
            request.method,
            self.settings.moto_url + raw,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            response_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
            response_headers["Access-Control-Allow-Origin"] = "*"
            return web.Response(status=upstream.status, body=body, headers=response_headers)

    # -- dev identity, health, apps ------------------------------------------------------
    async def dev_token(self, request: web.Request) -> web.Response:
        email = request.query.get("email", "speaker@local.test")
        return web.json_response({"idToken": self.identity.id_token(email), "expiresIn": 3600})

    async def dev_connections(self, request: web.Request) -> web.Response:
        """The open connections, for debugging locally (API Gateway has no such listing)."""
        return web.json_response(
            [
                {
                    "connectionId": c.connection_id,
                    "role": c.authorizer.get("role"),
                    "sourceIp": c.source_ip,
                    "connectedAt": int(c.connected_at * 1000),
                }
                for c in self.connections.values()
                if c.ws is not None
            ]
        )

    async def healthz(self, request: web.Request) -> web.Response:
        if not self.is_ready():
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok", "connections": len(self.connections)})

    async def config_json(self, request: web.Request) -> web.Response:
        host = request.headers.get("Host", f"127.0.0.1:{self.settings.port}")
        return web.json_response(
            {
                "webSocketUrl": f"ws://{host}/ws",
                "listenerUrl": f"http://{host}/listener/",
                "auth": {"mode": "dev", "tokenUrl": "/dev/token"},
            }
        )

    async def index(self, request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="/{name}/">{name}</a></li>' for name in self.settings.apps)
        body = (
            "<!doctype html><title>low-latency-translate (local)</title>"
            f"<h1>low-latency-translate</h1><ul>{links}</ul>"
            "<p>WebSocket: <code>/ws</code> &middot; speaker token: <a href='/dev/token'>/dev/token</a>"
            " &middot; <a href='/healthz'>/healthz</a></p>"
        )
        return web.Response(text=body, content_type="text/html")

    @staticmethod
    def _redirect(target: str) -> Callable[[web.Request], Any]:
        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPFound(target + (f"?{request.query_string}" if request.query_string else ""))

        return redirect

    @staticmethod
    def _app_index(folder: Path) -> Callable[[web.Request], Any]:
        async def index(request: web.Request) -> web.FileResponse:
            return web.FileResponse(folder / "index.html")

        return index
