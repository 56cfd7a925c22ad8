"""`/s3/...`: S3 (moto) on the apps' origin, so that presigned clip URLs need no CORS set-up."""

from __future__ import annotations

import aiohttp
from aiohttp import web

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


class S3Proxy:
    def __init__(self, moto_url: str) -> None:
        self._moto_url = moto_url
        self._http: aiohttp.ClientSession | None = None

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/s3/{tail:.*}", self.forward)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if self._http is None:
            self._http = aiohttp.ClientSession(auto_decompress=False)
        raw = request.raw_path[len("/s3") :] or "/"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with self._http.request(
            request.method,
            self._moto_url + raw,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            response_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
            response_headers["Access-Control-Allow-Origin"] = "*"
            return web.Response(status=upstream.status, body=body, headers=response_headers)
