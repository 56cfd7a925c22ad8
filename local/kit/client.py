"""A plain WebSocket client of the protocol in docs/PROTOCOL.md, for the integration tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from local.kit.captures import Capture

# The apps' heartbeat (frontend-client-apps/shared/src/socket.ts), inside the 10-minute idle limit.
HEARTBEAT_S = 300.0


@dataclass
class ProtocolClient:
    ws: aiohttp.ClientWebSocketResponse
    received: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # loop time of each message
    _reader: asyncio.Task[None] | None = None
    _heartbeat: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, http: aiohttp.ClientSession, url: str, heartbeat_s: float = HEARTBEAT_S, **query: str
    ) -> ProtocolClient:
        ws = await http.ws_connect(url, params=query or None)
        client = cls(ws)
        client._reader = asyncio.create_task(client._read())
        client._heartbeat = asyncio.create_task(client._beat(heartbeat_s))
        return client

    async def _beat(self, every_s: float) -> None:
        """As the apps do: a listener sends nothing else, and the gateway closes a connection
        idle for 10 minutes (API Gateway's limit), so a long talk would lose its listeners."""
        while not self.ws.closed:
            await asyncio.sleep(every_s)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send({"action": "heartbeat"})

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.received.append(json.loads(message.data))
                self.arrivals.append(asyncio.get_running_loop().time())

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def send_chunk(self, session_id: str, seq: int, chunk: bytes) -> None:
        await self.send(
            {
                "action": "audioChunk",
                "sessionId": session_id,
                "seq": seq,
                "data": base64.b64encode(chunk).decode(),
            }
        )

    async def stream_capture(self, session_id: str, capture: Capture) -> list[float]:
        """A committed browser capture's chunks, at the pace they were recorded; returns
        the loop time at which each chunk was sent."""
        chunks, timings = capture.chunks, capture.timings_ms
        loop = asyncio.get_running_loop()
        sent_at: list[float] = []
        started = loop.time()
        for seq, chunk in enumerate(chunks):
            await asyncio.sleep(max(0.0, started + (timings[seq] - timings[0]) / 1000 - loop.time()))
            await self.send_chunk(session_id, seq, chunk)
            sent_at.append(loop.time())
        return sent_at

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("type") == kind]

    async def wait_for(
        self, kind: str, count: int = 1, timeout: float = 30.0, **match: Any
    ) -> list[dict[str, Any]]:
        def found() -> list[dict[str, Any]]:
            return [m for m in self.of_type(kind) if all(m.get(k) == v for k, v in match.items())]

        deadline = asyncio.get_running_loop().time() + timeout
        while len(found()) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"waited {timeout} s for {count} {kind} {match}; got {self.received[-5:]}"
                )
            await asyncio.sleep(0.05)
        return found()

    async def wait_until_quiet(self, quiet: float = 3.0, timeout: float = 20.0) -> None:
        """Until no message has come for `quiet` seconds (or `timeout` has passed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            last = self.arrivals[-1] if self.arrivals else 0.0
            if loop.time() - last >= quiet:
                return
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self.ws.close()
        for task in (self._reader, self._heartbeat):
            if task:
                task.cancel()


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


async def speaker_session(
    http: aiohttp.ClientSession, base: str, source_language: str = "en", title: str = ""
) -> tuple[ProtocolClient, str]:
    """A speaker signed in with the local dev identity, and the session it created."""
    async with http.get(f"{base}/dev/token") as response:
        token = str((await response.json())["idToken"])
    speaker = await ProtocolClient.connect(http, ws_url(base), token=token)
    create: dict[str, Any] = {"action": "createSession", "sourceLanguage": source_language}
    if title:
        create["title"] = title
    await speaker.send(create)
    return speaker, str((await speaker.wait_for("sessionCreated"))[0]["sessionId"])


async def worker_done(
    http: aiohttp.ClientSession, base: str, session_id: str, timeout: float
) -> dict[str, Any]:
    """The session's worker lease once the talk is flushed (`done`: everything it
    recognized was handed to the processor, `nextIndex` utterances). A test that waits
    for this, and then for that many utterances, waits as long as the product needs and
    no longer, instead of guessing a quiet time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with http.get(f"{base}/dev/sessions/{session_id}/worker") as response:
            worker: dict[str, Any] = await response.json()
        if worker.get("done") == 1:
            return worker
        if loop.time() > deadline:
            raise AssertionError(f"the session's worker was not done after {timeout} s: {worker}")
        await asyncio.sleep(0.5)
