"""Shared pieces of the sandbox tests: a seeded workspace, a fake bot endpoint, a fake clock.

A uniquely named module (not conftest) so test files can import it safely."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from sandbox import Sandbox

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"


def make_sandbox(**kwargs: Any) -> Sandbox:
    """The workspace most tests share: two reps, a public and a private channel."""
    kwargs.setdefault("rate_limits", False)
    sb = Sandbox(signing_secret=SECRET, bot_token=TOKEN, **kwargs)
    sb.add_user("U0ALICE", name="alice", real_name="Alice Example", tz="Europe/Berlin")
    sb.add_user("U0BOB", name="bob", real_name="Bob Example", tz="America/New_York")
    sb.add_user("U0CAROL", name="carol", real_name="Carol Outsider")
    sb.add_channel("C0SALES", name="sales", members=["U0ALICE", "U0BOB"])
    sb.add_channel("C0PRIV", name="private-deals", members=["U0ALICE"], is_private=True)
    sb.add_channel("C0OTHER", name="other", members=["U0ALICE"], bot_is_member=False)
    sb.add_channel(
        "G0HIDDEN", name="hidden", members=["U0BOB"], bot_is_member=False, is_private=True
    )
    sb.add_channel("C0OLD", name="old", members=["U0ALICE"], is_archived=True)
    return sb


@dataclass
class Received:
    """One request the fake bot got, with its signature checked by slack_sdk."""

    headers: dict[str, str]
    raw: bytes
    signature_valid: bool

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.raw.decode(), keep_blank_values=True))

    def payload(self) -> dict[str, Any]:
        return json.loads(self.form()["payload"])

    def json(self) -> dict[str, Any]:
        return json.loads(self.raw)


Reply = Callable[[Received], Awaitable[web.Response]]


class Receiver:
    """A stand-in for the bot's `/slack/events` endpoint."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[Received] = asyncio.Queue()
        self.reply: Reply = _empty_ok
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/slack/events", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/slack/events"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def next(self, within: float = 5.0) -> Received:
        """The next request the bot received (fails after `within` seconds)."""
        return await asyncio.wait_for(self.requests.get(), within)

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        verifier = SignatureVerifier(SECRET)
        valid = verifier.is_valid(
            body=raw.decode(),
            timestamp=request.headers.get("X-Slack-Request-Timestamp", "0"),
            signature=request.headers.get("X-Slack-Signature", ""),
        )
        received = Received(dict(request.headers), raw, valid)
        await self.requests.put(received)
        if not valid:
            return web.json_response({"error": "invalid request"}, status=401)
        return await self.reply(received)


async def _empty_ok(_: Received) -> web.Response:
    return web.Response(status=200)


class FakeClock:
    """A monotonic clock tests move by hand, so limits and expiry need no sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


CARD: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "New lead: ACME"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*ACME* wants a demo"},
        "accessory": {
            "type": "button",
            "action_id": "details",
            "text": {"type": "plain_text", "text": "Details"},
            "value": "L1",
        },
    },
    {
        "type": "actions",
        "block_id": "lead_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "claim",
                "style": "primary",
                "value": "L1",
                "text": {"type": "plain_text", "text": "Claim"},
            },
            {
                "type": "button",
                "action_id": "pass",
                "value": "L1",
                "text": {"type": "plain_text", "text": "Pass"},
            },
        ],
    },
]


def error_of(err: SlackApiError) -> str:
    return str(err.response["error"])


@dataclass(frozen=True)
class RawResponse:
    status: int
    content_type: str
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def http(method: str, url: str, **kwargs: Any) -> RawResponse:
    """One plain HTTP request, for checks below the slack_sdk layer."""
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as res:
        return RawResponse(res.status, res.content_type, dict(res.headers), await res.text())


@asynccontextmanager
async def serving_bolt(sb: Sandbox, app: AsyncApp) -> AsyncIterator[AsyncApp]:
    """Serve a Bolt app on a loopback port and point the sandbox's inbound requests at it."""
    runner = web.AppRunner(app.web_app(), shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    sb.request_url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        yield app
    finally:
        await runner.cleanup()
