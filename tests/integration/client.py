"""A plain WebSocket client of the protocol in docs/PROTOCOL.md, for the integration tests."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class ProtocolClient:
    ws: aiohttp.ClientWebSocketResponse
    received: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # loop time of each message

    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, url: str, **query: str) -> ProtocolClient:
        ws = await http.ws_connect(url, params=query or None)
        client = cls(ws)
        client._reader = asyncio.create_task(client._read())
        return client

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

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
