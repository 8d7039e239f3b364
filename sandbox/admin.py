"""Admin HTTP endpoints under `/_sandbox/`, for the page and for bots in other processes.

Each endpoint is a thin JSON wrapper over one `Sandbox` method, so the
Python API and the HTTP API cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from sandbox.models import InboundResult
from sandbox.view_actions import ViewOutcome

if TYPE_CHECKING:
    from sandbox.core import Sandbox

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AdminRoutes:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/_sandbox/state", self.state)
        router.add_get("/_sandbox/calls", self.calls)
        router.add_post("/_sandbox/faults", _guarded(self.faults))
        router.add_post("/_sandbox/click", _guarded(self.click))
        router.add_post("/_sandbox/command", _guarded(self.command))
        router.add_post("/_sandbox/reply", _guarded(self.reply))
        router.add_post("/_sandbox/submit_view", _guarded(self.submit_view))
        router.add_post("/_sandbox/close_view", _guarded(self.close_view))

    async def state(self, request: web.Request) -> web.Response:
        state = self.sb.workspace.snapshot()
        state["request_url"] = self.sb.request_url
        state["faults"] = [f.to_json() for f in self.sb.faults.active()]
        return web.json_response(state)

    async def calls(self, request: web.Request) -> web.Response:
        """The recorded calls (`method=` filters); `since=N` skips the log's first N, so a
        poller reads only what is new: `next` is the N to send next time."""
        method = request.query.get("method")
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            since = -1
        if since < 0:
            return web.json_response(
                {"ok": False, "error": "since must be a whole number ≥ 0"}, status=400
            )
        log = self.sb.calls
        calls = [c.to_json() for c in log[since:] if method is None or c.method == method]
        return web.json_response({"calls": calls, "next": len(log)})

    async def faults(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if body.get("clear"):
            self.sb.clear_faults()
        else:
            self.sb.set_fault(
                str(body.get("method", "*")),
                status=body.get("status"),
                delay=body.get("delay"),
                times=body.get("times"),
            )
        return web.json_response(
            {"ok": True, "faults": [f.to_json() for f in self.sb.faults.active()]}
        )

    async def click(self, request: web.Request) -> web.Response:
        body = await _body(request)
        result = await self.sb.click_button(
            body["user"], body["channel"], body["ts"], label=body.get("label", "Claim")
        )
        return _inbound(result)

    async def command(self, request: web.Request) -> web.Response:
        body = await _body(request)
        result = await self.sb.send_slash_command(
            body["user"],
            body["channel"],
            body.get("text", ""),
            command=body.get("command", "/leads"),
        )
        return _inbound(result)

    async def reply(self, request: web.Request) -> web.Response:
        body = await _body(request)
        message = await self.sb.post_user_message(
            body["user"], body["channel"], body["text"], thread_ts=body.get("thread_ts") or None
        )
        return web.json_response({"ok": True, "ts": message.ts, "channel": message.channel})

    async def submit_view(self, request: web.Request) -> web.Response:
        body = await _body(request)
        values = body.get("values")
        if values is not None and not isinstance(values, dict):
            raise ValueError("values must be {block_id: {action_id: value}}")
        outcome = await self.sb.submit_view(body["user"], values, view_id=body.get("view_id"))
        return _view_outcome(outcome)

    async def close_view(self, request: web.Request) -> web.Response:
        body = await _body(request)
        outcome = await self.sb.close_view(body["user"], view_id=body.get("view_id"))
        return _view_outcome(outcome)


def _view_outcome(outcome: ViewOutcome) -> web.Response:
    """A modal action's outcome, plus the bot's answer when one was sent."""
    out: dict[str, Any] = {
        "ok": True,
        "outcome": outcome.outcome,
        "errors": outcome.errors,
        "problem": outcome.problem,
        "view": outcome.view,
    }
    if outcome.inbound is not None:
        result = outcome.inbound
        out.update(status=result.status, body=result.body, elapsed=result.elapsed)
    return web.json_response(out)


def _guarded(handler: Handler) -> Handler:
    """Turn the Python API's exceptions into JSON errors the page can show."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (KeyError, LookupError) as exc:
            return _error(404, "not_found", str(exc))
        except (ValueError, TypeError) as exc:
            return _error(400, "invalid_request", str(exc))
        except RuntimeError as exc:
            return _error(409, "not_ready", str(exc))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _error(502, "request_url_unreachable", repr(exc))

    return wrapper


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ValueError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _inbound(result: InboundResult) -> web.Response:
    return web.json_response(
        {
            "ok": True,
            "status": result.status,
            "body": result.body,
            "elapsed": result.elapsed,
            "timed_out": result.timed_out,
        }
    )


def _error(status: int, code: str, detail: str) -> web.Response:
    return web.json_response({"ok": False, "error": code, "detail": detail}, status=status)
