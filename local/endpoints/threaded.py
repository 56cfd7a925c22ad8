"""What the local Translate and Polly endpoints share: one POST route whose engine blocks
(a subprocess, an ONNX model), so it runs on the endpoint's own threads and never on the
event loop that also serves the gateway; each answer waits out the service's latency floor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from local.endpoints.service_latency import hold

# The request's headers and body -> the whole answer, errors included (each service maps its own).
Respond = Callable[[Mapping[str, str], bytes], web.Response]


def threaded_app(
    path: str, respond: Respond, floor_ms: float, name: str, threads: int = 4
) -> web.Application:
    executor = ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def post(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        started = loop.time()
        body = await request.read()
        response = await loop.run_in_executor(executor, respond, request.headers, body)
        await hold(floor_ms, started)
        return response

    async def close(_: web.Application) -> None:
        executor.shutdown(wait=False, cancel_futures=True)

    app = web.Application()
    app.router.add_post(path, post)
    app.on_cleanup.append(close)
    return app
