"""The local API Gateway stand-in (`local/gateway/`) on a real aiohttp server on 127.0.0.1, with a
fake Lambda host: concurrent and shuffled dispatch, the 32 KB frame limit, hostile bodies and the
order of `$disconnect`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from local.gateway import MAX_FRAME_BYTES, MAX_POST_BYTES, Gateway, GatewaySettings, websocket
from local.kit.client import ProtocolClient

AUTHORIZER = "authorizer-local"
HANDLER = "connection-handler-local"
WAIT = 10.0  # a failing test gives up after this long; nothing asserts how fast anything is


class FakeHost:
    """LambdaHost's `invoke`: the authorizer allows everyone, the connection handler records each
    event and runs the test's `on_message` for messages."""

    def __init__(self, on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.on_message = on_message
        self.events: list[dict[str, Any]] = []
        self.log: list[str] = []  # "start <body>", "end <body>", "$disconnect", ...
        self._lock = threading.Lock()

    def record(self, entry: str) -> None:
        with self._lock:
            self.log.append(entry)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        if name == AUTHORIZER:
            return {
                "principalId": "x",
                "policyDocument": {"Statement": [{"Effect": "Allow"}]},
                "context": {"role": "listener"},
            }
        assert name == HANDLER
        route = event["requestContext"]["routeKey"]
        if route in ("$connect", "$disconnect"):
            self.record(route)
            return {"statusCode": 200}
        with self._lock:
            self.events.append(event)
        self.record(f"start {event['body']}")
        if self.on_message is not None:
            self.on_message(event)
        self.record(f"end {event['body']}")
        return {"statusCode": 200}

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def bodies(self) -> list[str]:
        return [event["body"] for event in self.messages()]

    def routes(self) -> list[str]:
        return [event["requestContext"]["routeKey"] for event in self.messages()]


def settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "port": 0,
        "stage": "local",
        "api_id": "localapi01",
        "authorizer": AUTHORIZER,
        "connection_handler": HANDLER,
        "routes": ("heartbeat", "joinSession"),
        "moto_url": "http://127.0.0.1:9",  # never called
        **overrides,
    }
    return GatewaySettings(**values)


@contextlib.asynccontextmanager
async def serving(
    host: FakeHost, *, handler_cancellation: bool = False, **overrides: Any
) -> AsyncIterator[tuple[Gateway, str]]:
    """The gateway served as `local/runner.py` serves it (AppRunner, TCPSite), on a free port."""
    gateway = Gateway(settings(**overrides), host, identity=None, is_ready=lambda: True)  # type: ignore[arg-type]
    runner = web.AppRunner(gateway.app(), access_log=None, handler_cancellation=handler_cancellation)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        yield gateway, f"ws://127.0.0.1:{port}/ws"
    finally:
        await runner.cleanup()


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def heartbeat(n: int | str = "") -> str:
    return json.dumps({"action": "heartbeat", "n": n})


async def heartbeat_reaches_the_handler(host: FakeHost, ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_str(heartbeat("after"))
    await until(lambda: heartbeat("after") in host.bodies(), "the heartbeat after it")
    assert host.routes()[host.bodies().index(heartbeat("after"))] == "heartbeat"
    assert not ws.closed


def test_messages_of_one_connection_are_handled_concurrently():
    second_handled = threading.Event()
    first_saw_second: list[bool] = []

    def on_message(event: dict[str, Any]) -> None:
        if event["body"] == "first":
            first_saw_second.append(second_handled.wait(WAIT))  # False after WAIT when serialised
        elif event["body"] == "second":
            second_handled.set()

    host = FakeHost(on_message)

    async def run() -> None:
        async with serving(host) as (_, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            await ws.send_str("first")
            await until(lambda: "start first" in host.log, "the first message to start")
            await ws.send_str("second")
            await until(lambda: "end first" in host.log, "the first message to end")
            await ws.close()

    try:
        asyncio.run(run())
    finally:
        second_handled.set()
    assert first_saw_second == [True]
    assert host.log.index("end second") < host.log.index("end first")


def test_a_failing_message_is_logged_and_the_socket_stays_open(caplog):
    def on_message(event: dict[str, Any]) -> None:
        if event["body"] == "boom":
            raise RuntimeError("handler failed")

    host = FakeHost(on_message)

    async def run() -> None:
        async with serving(host) as (_, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            await ws.send_str("boom")
            await until(lambda: "start boom" in host.log, "the failing message")
            await heartbeat_reaches_the_handler(host, ws)
            await ws.close()

    asyncio.run(run())
    assert "route $default failed" in caplog.text


def test_shuffled_delivery_reorders_and_delivers_every_message_once():
    host = FakeHost()
    sent = [heartbeat(n) for n in range(40)]

    async def run() -> None:
        serve = serving(host, shuffle_window=8, shuffle_seed=1234)
        async with serve as (_, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            for body in sent:
                await ws.send_str(body)
            await until(lambda: len(host.messages()) >= 40, "the 40 messages")
            await ws.close()

    asyncio.run(run())
    received = host.bodies()
    assert sorted(received) == sorted(sent)
    assert len(received) == len(set(received)) == 40
    assert received != sent
    assert set(host.routes()) == {"heartbeat"}


def test_shuffled_delivery_flushes_fewer_messages_than_the_window():
    host = FakeHost()

    async def run() -> None:
        serve = serving(host, shuffle_window=8, shuffle_seed=1)
        async with serve as (_, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            for n in range(3):
                await ws.send_str(heartbeat(n))
            await until(lambda: len(host.messages()) == 3, "the 3 held messages")  # socket still open
            await ws.close()

    asyncio.run(run())
    assert sorted(host.bodies()) == sorted(heartbeat(n) for n in range(3))


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_a_frame_of_exactly_32_kb_is_delivered(binary):
    host = FakeHost()
    body = "x" * MAX_FRAME_BYTES

    async def run() -> None:
        async with serving(host) as (_, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            await (ws.send_bytes(body.encode()) if binary else ws.send_str(body))
            await until(lambda: body in host.bodies(), "the 32 KB message")
            await heartbeat_reaches_the_handler(host, ws)
            await ws.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    "size",
    [MAX_FRAME_BYTES + 1, 2 * MAX_FRAME_BYTES, 2 * MAX_FRAME_BYTES + 1, MAX_POST_BYTES + 1],
    ids=["32KB+1", "64KB", "64KB+1", "128KB+1"],
)
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_a_frame_over_32_kb_closes_the_socket_with_1009(size, binary):
    host = FakeHost()

    async def run() -> None:
        async with serving(host) as (gateway, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            await (ws.send_bytes(b"x" * size) if binary else ws.send_str("x" * size))
            message = await ws.receive(timeout=WAIT)
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG == 1009
            assert ws.close_code == 1009
            await until(lambda: "$disconnect" in host.log, "$disconnect")
            assert not gateway.connections

    asyncio.run(run())
    assert host.messages() == []


def test_route_selection_survives_hostile_bodies():
    gateway = Gateway(settings(), FakeHost(), identity=None, is_ready=lambda: True)  # type: ignore[arg-type]
    for body in (
        "[" * 100_000,
        "{" * 100_000,
        '{"action": "heartbeat", "n": ' + "9" * 5_000 + "}",
        "9" * 5_000,
        "[1, 2]",
        '"heartbeat"',
        '{"action": ["heartbeat"]}',
        "\ufffd\ufffd{",
        "",
    ):
        assert gateway.route_for(body) == "$default", body[:40]
    assert gateway.route_for(heartbeat()) == "heartbeat"


@pytest.mark.parametrize(
    "frame",
    [
        "[" * MAX_FRAME_BYTES,  # nested past the recursion limit; 100,000 would be over a frame (1009)
        '{"action": "heartbeat", "n": ' + "9" * 5_000 + "}",
        "9" * 5_000,
        b"\xff\xfe{\x80",  # binary, not UTF-8
    ],
    ids=["nested-32KB", "5000-digit-int-in-object", "5000-digit-int", "invalid-utf8"],
)
def test_hostile_bodies_reach_the_default_route_and_the_socket_stays_open(frame):
    host = FakeHost()

    async def run() -> None:
        async with serving(host) as (_, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
            await until(lambda: len(host.messages()) >= 1, "the hostile message")
            await heartbeat_reaches_the_handler(host, ws)
            await ws.close()

    asyncio.run(run())
    first = host.messages()[0]
    assert first["requestContext"]["routeKey"] == "$default"
    expected = frame.decode("utf-8", errors="replace") if isinstance(frame, bytes) else frame
    assert first["body"] == expected


@pytest.mark.parametrize("handler_cancellation", [False, True], ids=["as-runner", "cancelling-server"])
def test_disconnect_runs_after_the_messages_in_flight(handler_cancellation):
    release = threading.Event()

    def on_message(event: dict[str, Any]) -> None:
        if event["body"].startswith("slow"):
            release.wait(WAIT)

    host = FakeHost(on_message)

    async def run() -> None:
        serve = serving(host, handler_cancellation=handler_cancellation)
        async with serve as (gateway, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            for n in range(3):
                await ws.send_str(f"slow {n}")
            await until(lambda: sum(e.startswith("start slow") for e in host.log) == 3, "3 slow messages")
            await ws.close()
            await until(lambda: not gateway.connections, "the gateway to see the socket closed")
            await asyncio.sleep(0.2)  # room for a $disconnect that would not wait
            assert "$disconnect" not in host.log
            release.set()
            await until(lambda: "$disconnect" in host.log, "$disconnect")

    try:
        asyncio.run(run())
    finally:
        release.set()
    disconnect = host.log.index("$disconnect")
    assert all(host.log.index(f"end slow {n}") < disconnect for n in range(3))


@pytest.mark.parametrize("handler_cancellation", [False, True], ids=["as-runner", "cancelling-server"])
def test_disconnect_flushes_held_shuffled_messages_first(handler_cancellation):
    host = FakeHost()

    async def run() -> None:
        serve = serving(host, shuffle_window=8, shuffle_seed=7, handler_cancellation=handler_cancellation)
        async with serve as (_, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            for n in range(5):
                await ws.send_str(heartbeat(n))
            await ws.close()
            await until(lambda: "$disconnect" in host.log, "$disconnect")

    asyncio.run(run())
    assert sorted(host.bodies()) == sorted(heartbeat(n) for n in range(5))
    assert host.log[-1] == "$disconnect"


def test_post_to_connection_keeps_the_128_kb_limit():
    host = FakeHost()

    async def run() -> None:
        async with serving(host) as (gateway, url), aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            await until(lambda: bool(gateway.connections), "the connection")
            (connection_id,) = gateway.connections
            endpoint = url.replace("ws://", "http://").replace("/ws", f"/local/@connections/{connection_id}")
            async with http.post(endpoint, data=b"y" * MAX_POST_BYTES) as response:
                assert response.status == 200
            assert len(await ws.receive_str(timeout=WAIT)) == MAX_POST_BYTES
            async with http.post(endpoint, data=b"y" * (MAX_POST_BYTES + 1)) as response:
                assert response.status == 413
                assert response.headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
            await ws.close()

    asyncio.run(run())


def test_an_idle_connection_is_closed_and_the_test_clients_heartbeat_keeps_one_open(monkeypatch):
    """The 10-minute idle limit, shortened: a client that only listens is closed, while the
    kit's client (the benches' and tests' listener) heartbeats as the apps do and stays."""
    monkeypatch.setattr(websocket, "IDLE_TIMEOUT_SECONDS", 0.6)
    host = FakeHost()

    async def run() -> None:
        async with serving(host) as (_, url), aiohttp.ClientSession() as http:
            silent = await ProtocolClient.connect(http, url, heartbeat_s=3600)
            beating = await ProtocolClient.connect(http, url, heartbeat_s=0.2)
            await until(lambda: silent.ws.closed, "the idle connection to be closed")
            await asyncio.sleep(0.8)  # longer than the limit, for the one that heartbeats
            assert not beating.ws.closed
            assert host.routes().count("heartbeat") >= 3
            await beating.close()
            await silent.close()

    asyncio.run(run())
