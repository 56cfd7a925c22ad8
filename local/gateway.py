"""A local stand-in for API Gateway's WebSocket API, and the small HTTP services around it.

On one port:
- `GET /ws`: WebSocket. `$connect` runs the authorizer and then the connect route,
  exactly as API Gateway does (a Deny is HTTP 403, a non-200 from $connect is that
  status); messages are routed on `action`; `$disconnect` runs when the socket closes.
  Each message is its own invocation, run concurrently as on AWS (so message N+1 may
  overtake N); `shuffle_window` reorders them on purpose, for tests. A frame over 32 KB
  closes the socket with 1009, as API Gateway does.
- `POST/GET/DELETE /{stage}/@connections/{id}`: the management API that boto3's
  `apigatewaymanagementapi` client calls. Posting to an unknown connection, or to one
  whose $connect has not finished, is 410 GoneException; over 128 KB is 413.
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
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from local.devauth import DevIdentity
from local.lambda_host import LambdaHost, UnknownFunction
from shared.languages import ServedPairs

logger = logging.getLogger("local.gateway")

MAX_FRAME_BYTES = 32 * 1024  # API Gateway WebSocket frame limit: a larger frame closes the socket (1009)
MAX_POST_BYTES = 128 * 1024  # API Gateway postToConnection payload limit (413 above it)
# aiohttp's own limit, above ours: aiohttp (3.14) also refuses a payload of exactly max_msg_size,
# so the exact 32 KB check is the gateway's (`_too_big`); aiohttp's only bounds what it buffers.
_READ_LIMIT_BYTES = 2 * MAX_FRAME_BYTES
IDLE_TIMEOUT_SECONDS = 600  # API Gateway closes idle connections after 10 minutes
MAX_IN_FLIGHT = 16  # per connection; the reader waits for a free slot beyond it
SHUFFLE_FLUSH_SECONDS = 0.15  # held messages are dispatched after this long without a new one
DISCONNECT_DRAIN_SECONDS = 15.0  # how long $disconnect waits for the connection's in-flight messages
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
    # > 1: hold up to this many of a connection's messages and dispatch them in a random order
    # (flushed after SHUFFLE_FLUSH_SECONDS without a new message). 0 or 1: dispatched as received.
    shuffle_window: int = 0
    shuffle_seed: int | None = None  # None: a different order on every run
    sessions_table: str = ""  # for /dev/sessions/{id}/worker
    served_pairs: str = ""  # LANGUAGE_PAIRS of the stack: the apps offer only these languages


def _served_languages(pairs: str) -> dict[str, Any]:
    """config.json's `languages`: targets per source language ({} when every pair is served)."""
    served = ServedPairs.parse(pairs)
    if served.pairs is None:
        return {}
    return {"languages": {source: served.targets(source) for source in served.sources()}}


@dataclass
class Connection:
    connection_id: str
    source_ip: str
    user_agent: str
    connected_at: float
    authorizer: dict[str, Any]
    ws: web.WebSocketResponse | None = None
    last_active: float = 0.0


class MessageDispatch:
    """One connection's messages, each run as its own task, as each WebSocket message is its own
    Lambda invocation on AWS: at most `limit` in flight (`submit` then waits for a slot), optionally
    held `window` at a time and started in a shuffled order. A failing message is logged; it never
    ends the connection."""

    def __init__(
        self,
        run: Callable[[dict[str, Any]], Awaitable[Any]],
        *,
        limit: int = MAX_IN_FLIGHT,
        window: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self._run = run
        self._slots = asyncio.Semaphore(limit)
        self._window = window
        self._rng = rng if rng is not None else random.Random()
        self.held: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def submit(self, event: dict[str, Any]) -> None:
        if self._window <= 1:
            await self._start(event)
            return
        self.held.append(event)
        if len(self.held) >= self._window:
            await self.flush()

    async def flush(self) -> None:
        """Start whatever is held, in a random order (what is not started yet stays in `held`)."""
        self._rng.shuffle(self.held)
        while self.held:
            await self._start(self.held[0])
            del self.held[0]

    async def drain(self, timeout: float) -> None:
        """Start what is held and wait for everything in flight, for at most `timeout`. After it,
        `tasks` are those still running (they go on, unwaited) and `held` those never started."""
        try:
            async with asyncio.timeout(timeout):
                await self.flush()
                while self.tasks:
                    await asyncio.wait(set(self.tasks))
        except TimeoutError:
            pass

    async def _start(self, event: dict[str, Any]) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(self._handle(event))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _handle(self, event: dict[str, Any]) -> None:
        try:
            await self._run(event)
        except Exception:
            logger.exception("route %s failed", event.get("requestContext", {}).get("routeKey"))
        finally:
            self._slots.release()


def _too_big(message: aiohttp.WSMessage) -> bool:
    data = message.data
    size = len(data.encode()) if isinstance(data, str) else len(data)  # the frame's payload bytes
    return size > MAX_FRAME_BYTES


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
        # Room for a few connections' MAX_IN_FLIGHT messages besides the $connects.
        self._routes_executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="route")
        self._http: aiohttp.ClientSession | None = None
        # $disconnect sequences, and messages still running after theirs: referenced until done.
        self._background: set[asyncio.Task[Any]] = set()

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
        app.router.add_get("/dev/sessions/{id}/worker", self.dev_session_worker)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/config.json", self.config_json)
        app.router.add_get("/", self.index)
        app.router.add_get("/favicon.ico", self.favicon)
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
        """API Gateway's route selection on `$request.body.action`. Whatever the body (not JSON,
        nested past the recursion limit, an integer too long to convert, not an object), a body
        without a known action goes to `$default`."""
        try:
            parsed = json.loads(body)
            action = parsed.get("action") if isinstance(parsed, dict) else None
        except Exception:  # ValueError (also digits past int's limit), RecursionError, ...
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
        refusal = await self._authorize(connection, headers, query) or await self._connect(
            connection, headers, query
        )
        if refusal is not None:
            return refusal

        ws = web.WebSocketResponse(max_msg_size=_READ_LIMIT_BYTES, receive_timeout=IDLE_TIMEOUT_SECONDS)
        await ws.prepare(request)
        connection.ws = ws
        connection.last_active = time.time()
        logger.info("connected %s (%s)", connection.connection_id, connection.authorizer.get("role"))
        dispatch = self._new_dispatch()
        try:
            await self._read_messages(connection, ws, dispatch)
        finally:
            self.connections.pop(connection.connection_id, None)
            logger.info("disconnected %s", connection.connection_id)
            # Its own task: a server that cancels handlers when the peer goes away
            # (handler_cancellation=True) must not skip $disconnect.
            await asyncio.shield(self._keep(asyncio.create_task(self._disconnect(connection, dispatch))))
        return ws

    async def _authorize(
        self, connection: Connection, headers: dict[str, str], query: dict[str, str]
    ) -> web.Response | None:
        """The $connect authorizer, as API Gateway runs it: a refusal is a 403 (a failure a 500)."""
        api = f"{self.settings.api_id}/{self.settings.stage}"
        try:
            policy = await self._run(
                self.settings.authorizer,
                {
                    "type": "REQUEST",
                    "methodArn": f"arn:aws:execute-api:us-east-1:000000000000:{api}/$connect",
                    "headers": headers,
                    "queryStringParameters": query or None,
                    "requestContext": self._request_context(connection, "CONNECT", "$connect"),
                },
            )
        except Exception:
            logger.exception("authorizer failed")
            return web.json_response({"message": "Internal server error"}, status=500)
        if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            return web.json_response({"message": "Forbidden"}, status=403)
        connection.authorizer = {**policy.get("context", {}), "principalId": policy.get("principalId")}
        return None

    async def _connect(
        self, connection: Connection, headers: dict[str, str], query: dict[str, str]
    ) -> web.Response | None:
        """The $connect route: anything but 200 refuses the upgrade with that status and body."""
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
        if status == 200:
            return None
        self.connections.pop(connection.connection_id, None)
        return web.Response(
            status=status, text=(result or {}).get("body", ""), content_type="application/json"
        )

    def _keep(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _disconnect(self, connection: Connection, dispatch: MessageDispatch) -> None:
        # API Gateway does not strictly order $disconnect after the messages already received;
        # waiting for them (for a while) keeps local runs deterministic.
        await dispatch.drain(DISCONNECT_DRAIN_SECONDS)
        if dispatch.tasks or dispatch.held:
            logger.warning(
                "%s: $disconnect runs with %d message(s) still in flight, %d dropped",
                connection.connection_id,
                len(dispatch.tasks),
                len(dispatch.held),
            )
            for task in dispatch.tasks:
                self._keep(task)
        try:
            await self._run(
                self.settings.connection_handler,
                {"requestContext": self._request_context(connection, "DISCONNECT", "$disconnect")},
            )
        except Exception:
            logger.exception("$disconnect failed")

    def _new_dispatch(self) -> MessageDispatch:
        seed = self.settings.shuffle_seed
        return MessageDispatch(
            lambda event: self._run(self.settings.connection_handler, event),
            window=self.settings.shuffle_window,
            rng=random.Random(seed) if seed is not None else random.Random(),
        )

    async def _read_messages(
        self, connection: Connection, ws: web.WebSocketResponse, dispatch: MessageDispatch
    ) -> None:
        """Until the socket closes: each message routed and handed to `dispatch`, not awaited."""
        while True:
            flushing = bool(dispatch.held)
            try:
                message = await ws.receive(timeout=SHUFFLE_FLUSH_SECONDS if flushing else None)
            except TimeoutError:
                if flushing:
                    await dispatch.flush()
                    continue
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"Going away")
                return
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return  # closed, or an error aiohttp has closed the socket for (1009 above its limit)
            if _too_big(message):
                await ws.close(code=aiohttp.WSCloseCode.MESSAGE_TOO_BIG, message=b"Message too big")
                return
            if message.type == aiohttp.WSMsgType.TEXT:
                body = message.data
            else:
                body = message.data.decode("utf-8", errors="replace")
            connection.last_active = time.time()
            route = self.route_for(body)
            await dispatch.submit(
                {
                    "requestContext": self._request_context(connection, "MESSAGE", route),
                    "body": body,
                    "isBase64Encoded": False,
                }
            )

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
        if len(data) > MAX_POST_BYTES:
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

    async def dev_session_worker(self, request: web.Request) -> web.Response:
        """A session's streaming-worker lease (generation, checkpoint), for debugging and
        for the tests that count handovers; API Gateway has no such route."""
        import boto3

        def read() -> dict[str, Any]:
            table = boto3.resource(
                "dynamodb", endpoint_url=self.settings.moto_url, region_name="us-east-1"
            ).Table(self.settings.sessions_table)
            item = table.get_item(Key={"sessionId": request.match_info["id"]}).get("Item") or {}
            worker = item.get("worker") or {}
            return {
                k: int(v) if isinstance(v, int | float) or hasattr(v, "as_tuple") else v
                for k, v in worker.items()
                if k in {"generation", "done", "nextIndex", "emittedUntilMs"}
            }

        return web.json_response(await asyncio.get_running_loop().run_in_executor(None, read))

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
                **_served_languages(self.settings.served_pairs),
            }
        )

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        """Browsers ask for /favicon.ico whatever the page links: the apps' own icon."""
        for folder in self.settings.apps.values():
            icon = folder / "favicon.svg"
            if icon.is_file():
                return web.FileResponse(icon, headers={"Content-Type": "image/svg+xml"})
        raise web.HTTPNotFound()

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
