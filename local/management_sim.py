"""A stand-in for API Gateway's management API with AWS's timing, for the fan-out bench
and tests: every `POST /{stage}/@connections/{id}` is answered after `delay_seconds`
(~40 ms on AWS), 410 GoneException for a fixed share of the connections, and the peak
number of posts in flight is kept. `GET /stats` answers what it saw.

In a thread (`with ManagementSim() as sim`) for tests, or as its own process for the
bench, so that the server's CPU is not the sender's: `python -m local.management_sim`."""

from __future__ import annotations

import argparse
import asyncio
import threading
import zlib
from typing import Any

from aiohttp import web


def is_gone(connection_id: str, gone_fraction: float) -> bool:
    """The same connections are gone on every run: a hash, not a random draw."""
    return zlib.crc32(connection_id.encode()) % 10_000 < gone_fraction * 10_000


class ManagementSim:
    def __init__(self, delay_seconds: float = 0.04, gone_fraction: float = 0.01, port: int = 0) -> None:
        self.delay_seconds = delay_seconds
        self.gone_fraction = gone_fraction
        self.port = port
        self.gone: set[str] = set()  # these too answer 410 (tests)
        self.fail_first: set[str] = set()  # a 500 on the first post (tests)
        self.fail_always: set[str] = set()
        self.received: list[str] = []
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.keep_bodies = True  # off in the bench: only counts are kept
        self._seen: set[str] = set()
        self.posts = 0
        self.in_flight = 0
        self.peak = 0
        self.answered = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/sim"

    def reset(self) -> None:
        self.received, self.bodies, self.headers = [], [], []
        self._seen = set()
        self.peak = self.answered = self.posts = 0

    # -- HTTP --------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{stage}/@connections/{id}", self.post)
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/reset", self.reset_route)
        return app

    async def post(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["id"]
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            body = await request.read()
            first = connection_id not in self._seen
            self._seen.add(connection_id)
            self.posts += 1
            if self.keep_bodies:
                self.received.append(connection_id)
                self.bodies.append(body)
                self.headers.append(dict(request.headers))
            await asyncio.sleep(self.delay_seconds)
            if connection_id in self.fail_always or (first and connection_id in self.fail_first):
                return web.json_response({"message": "Internal server error"}, status=500)
            if connection_id in self.gone or is_gone(connection_id, self.gone_fraction):
                return web.json_response({"message": "GoneException"}, status=410)
            return web.Response(status=200)
        finally:
            self.in_flight -= 1
            self.answered += 1

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response({"posts": self.posts, "answered": self.answered, "peakInFlight": self.peak})

    async def reset_route(self, _: web.Request) -> web.Response:
        self.reset()
        return web.Response(status=204)

    # -- in a thread ---------------------------------------------------------------------
    def __enter__(self) -> ManagementSim:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            started.set()
            self._loop.run_forever()

        threading.Thread(target=run, name="management-sim", daemon=True).start()
        started.wait(10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def __exit__(self, *exc: Any) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--gone-percent", type=float, default=1.0)
    args = parser.parse_args(argv)
    sim = ManagementSim(args.delay_ms / 1000, args.gone_percent / 100, args.port)
    sim.keep_bodies = False
    web.run_app(sim.app(), host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=8192)


if __name__ == "__main__":
    main()
