"""The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), and the thread
pool every invocation of the gateway runs in (the WebSocket routes' too)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from local.lambda_host import LambdaHost, UnknownFunction


class Functions:
    def __init__(self, host: LambdaHost) -> None:
        self.host = host
        # Room for a few connections' MAX_IN_FLIGHT messages besides the $connects.
        self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="route")

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/2015-03-31/functions/{name}/invocations", self.invoke)

    async def run(self, name: str, event: dict[str, Any]) -> Any:
        """One synchronous invocation, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.host.invoke, name, event)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def invoke(self, request: web.Request) -> web.Response:
        name = request.match_info["name"].split(":")[-1]
        payload = await request.read()
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        try:
            if invocation_type == "Event":
                self.host.invoke_async(name, payload)
                return web.Response(status=202)
            result = await self.run(name, json.loads(payload or b"{}"))
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
