"""The chat widget's static assets: `GET /widget.js` and the sample website `GET /widget/demo`.

Both files ship as package data in `bot/widget/` and are read once, when the routes are
registered; the script is served with an ETag so browsers revalidate it cheaply after the
short max-age, and a new deploy reaches visitors within minutes.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from aiohttp import web

from handlers.http import Handler

ASSET_PACKAGE = "bot.widget"
SCRIPT_MAX_AGE = 300


def read_asset(name: str) -> bytes:
    return resources.files(ASSET_PACKAGE).joinpath(name).read_bytes()


def make_static(body: bytes, content_type: str, cache_control: str) -> Handler:
    """A handler that serves one in-memory file, answering 304 to a matching If-None-Match."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
    headers = {
        "Cache-Control": cache_control,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }

    async def serve(request: web.Request) -> web.Response:
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)

    return serve


def register(app: web.Application) -> None:
    """Add the widget script and the sample page to the app's routes."""
    script = make_static(
        read_asset("widget.js"),
        "application/javascript",
        f"public, max-age={SCRIPT_MAX_AGE}",
    )
    demo = make_static(read_asset("demo.html"), "text/html", "no-cache")
    app.router.add_get("/widget.js", script)
    app.router.add_get("/widget/demo", demo)
