"""API Gateway's WebSocket API, emulated: `GET /ws`.

`$connect` runs the authorizer and then the connect route, exactly as API Gateway does (a
Deny is HTTP 403, a non-200 from $connect is that status); messages are routed on
`action`; `$disconnect` runs when the socket closes. Each message is its own invocation,
run concurrently as on AWS (so message N+1 may overtake N); `shuffle_window` reorders them
on purpose, for tests. A frame over 32 KB closes the socket with 1009, as API Gateway does."""

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
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from local.gateway.settings import GatewaySettings

logger = logging.getLogger("local.gateway")

MAX_FRAME_BYTES = 32 * 1024  # API Gateway WebSocket frame limit: a larger frame closes the socket (1009)
# aiohttp's own limit, above ours: aiohttp (3.14) also refuses a payload of exactly max_msg_size,
# so the exact 32 KB check is the gateway's (`_too_big`); aiohttp's only bounds what it buffers.
_READ_LIMIT_BYTES = 2 * MAX_FRAME_BYTES
IDLE_TIMEOUT_SECONDS = 600  # API Gateway closes idle connections after 10 minutes
MAX_IN_FLIGHT = 16  # per connection; the reader waits for a free slot beyond it
SHUFFLE_FLUSH_SECONDS = 0.15  # held messages are dispatched after this long without a new one
DISCONNECT_DRAIN_SECONDS = 15.0  # how long $disconnect waits for the connection's in-flight messages


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


class WebSocketApi:
    def __init__(
        self,
        settings: GatewaySettings,
        connections: dict[str, Connection],
        run: Callable[[str, dict[str, Any]], Awaitable[Any]],
    ) -> None:
        self.settings = settings
        self.connections = connections  # by id, from $connect until the socket closes
        self._run = run  # one invocation of a function by name
        # $disconnect sequences, and messages still running after theirs: referenced until done.
        self._background: set[asyncio.Task[Any]] = set()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/ws", self.websocket)

    async def close(self) -> None:
        for connection in list(self.connections.values()):
            if connection.ws is not None:
                await connection.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server stopping")

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
