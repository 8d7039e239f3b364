"""The HTTP face of the sandbox: Web API, response_url hooks and the page.

Faults wrap each request: a status fault answers before any work, a delay
fault holds the answer after the work is done and recorded.
"""

from __future__ import annotations

import json
import urllib.parse
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.admin import AdminRoutes
from sandbox.api_common import ApiError
from sandbox.faults import OUTAGE_HTML
from sandbox.file_routes import FileRoutes
from sandbox.response_url import describe, error_status

if TYPE_CHECKING:
    from sandbox.core import Sandbox

RESPONSE_URL_METHOD = "response_url"


class _InvalidJson(Exception):
    pass


def build_app(sb: Sandbox) -> web.Application:
    """One application serving everything the sandbox offers over HTTP."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    front = _Front(sb)
    app.router.add_route("*", "/api/{method}", front.web_api)
    app.router.add_post("/response_url/{hook_id}", front.response_url)
    app.router.add_get("/", front.page)
    AdminRoutes(sb).register(app.router)
    FileRoutes(sb).register(app.router)
    return app


def _connection(request: web.Request) -> str | None:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if peer else None


class _Front:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb

    async def web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await _read_args(request)
        except _InvalidJson:
            body = {"ok": False, "error": "invalid_json"}
            await self.sb.log.record(method, {}, 200, body)
            return _json(200, body, {})
        outage = self._outage(method)
        if outage is not None:
            await self.sb.log.record(
                method, args, outage.status, _outage_note(outage), dict(outage.headers)
            )
            return outage
        token = _bearer(request) or args.get("token")
        result = self.sb.api.call(method, args, token if isinstance(token, str) else None)
        await self.sb.log.record(
            method, args, result.status, result.body, result.headers, _connection(request)
        )
        await self.sb.hold(self.sb.faults.take_delay(method))
        return _json(result.status, result.body, result.headers)

    async def response_url(self, request: web.Request) -> web.Response:
        hook_id = request.match_info["hook_id"]
        raw = await request.read()
        payload: Any = None
        if request.content_type == "application/json":
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        outage = self._outage(RESPONSE_URL_METHOD)
        if outage is not None:
            await self.sb.log.record(
                RESPONSE_URL_METHOD, describe(payload), outage.status, _outage_note(outage)
            )
            return outage
        try:
            self.sb.hooks.respond(self.sb.ctx, hook_id, payload)
        except ApiError as err:
            status = error_status(err.code)
            await self.sb.log.record(RESPONSE_URL_METHOD, describe(payload), status, err.body())
            return web.Response(status=status, text=err.code, content_type="text/plain")
        await self.sb.log.record(RESPONSE_URL_METHOD, describe(payload), 200, {"ok": True})
        await self.sb.hold(self.sb.faults.take_delay(RESPONSE_URL_METHOD))
        return web.Response(status=200, text="ok", content_type="text/plain")

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files("sandbox").joinpath("page.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html")

    def _outage(self, method: str) -> web.Response | None:
        status = self.sb.faults.take_status(method)
        if status is None:
            return None
        if status == 429:
            return _json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        reason = HTTPStatus(status).phrase
        return web.Response(
            status=status,
            text=OUTAGE_HTML.format(status=status, reason=reason),
            content_type="text/html",
        )


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Merge URL query, form body and JSON body, as slack_sdk may use any of them."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
        return args
    raw = await request.read()
    if not raw.strip():
        return args
    if request.content_type == "application/json" or raw.lstrip().startswith(b"{"):
        try:
            data = json.loads(raw)
        except ValueError:
            raise _InvalidJson from None
        if not isinstance(data, dict):
            raise _InvalidJson
        args.update(data)
    else:
        args.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return args


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _json(status: int, body: dict[str, Any], headers: dict[str, str]) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def _outage_note(response: web.Response) -> dict[str, Any]:
    """How the call log shows an injected failure."""
    error = "ratelimited" if response.status == 429 else "fault_injected"
    return {"ok": False, "error": error}
