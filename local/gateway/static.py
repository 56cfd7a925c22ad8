"""The browser apps under `/speaker/` and `/listener/`, their `/config.json`, and an index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from local.gateway.settings import GatewaySettings
from shared.languages import ServedPairs


def _served_languages(pairs: str) -> dict[str, Any]:
    """config.json's `languages`: targets per source language ({} when every pair is served)."""
    served = ServedPairs.parse(pairs)
    if served.pairs is None:
        return {}
    return {"languages": {source: served.targets(source) for source in served.sources()}}


def _redirect(target: str) -> Callable[[web.Request], Any]:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(target + (f"?{request.query_string}" if request.query_string else ""))

    return redirect


def _app_index(folder: Path) -> Callable[[web.Request], Any]:
    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(folder / "index.html")

    return index


class StaticFiles:
    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/config.json", self.config_json)
        router.add_get("/", self.index)
        router.add_get("/favicon.ico", self.favicon)
        for name, folder in self._settings.apps.items():
            router.add_get(f"/{name}", _redirect(f"/{name}/"))
            router.add_get(f"/{name}/", _app_index(folder))
            router.add_static(f"/{name}/", folder)

    async def config_json(self, request: web.Request) -> web.Response:
        host = request.headers.get("Host", f"127.0.0.1:{self._settings.port}")
        return web.json_response(
            {
                "webSocketUrl": f"ws://{host}/ws",
                "listenerUrl": f"http://{host}/listener/",
                "auth": {"mode": "dev", "tokenUrl": "/dev/token"},
                **_served_languages(self._settings.served_pairs),
            }
        )

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        """Browsers ask for /favicon.ico whatever the page links: the apps' own icon."""
        for folder in self._settings.apps.values():
            icon = folder / "favicon.svg"
            if icon.is_file():
                return web.FileResponse(icon, headers={"Content-Type": "image/svg+xml"})
        raise web.HTTPNotFound()

    async def index(self, request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="/{name}/">{name}</a></li>' for name in self._settings.apps)
        body = (
            "<!doctype html><title>low-latency-translate (local)</title>"
            f"<h1>low-latency-translate</h1><ul>{links}</ul>"
            "<p>WebSocket: <code>/ws</code> &middot; speaker token: <a href='/dev/token'>/dev/token</a>"
            " &middot; <a href='/healthz'>/healthz</a></p>"
        )
        return web.Response(text=body, content_type="text/html")
