"""`Sandbox`: the one object tests, the demo and `python -m sandbox` use.

It owns the workspace state, the HTTP server and the inbound sender, and
exposes them as a small Python API. Everything else in the package is a part
it wires together.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiohttp import web

from sandbox.actions import Actions, Delivery, Endpoints
from sandbox.api_common import ApiContext
from sandbox.command_acks import CommandAcks
from sandbox.faults import FaultSwitch
from sandbox.filestore import SharedFile
from sandbox.inbound import InboundSender
from sandbox.models import Channel, InboundResult, Message, RecordedCall, User
from sandbox.ratelimit import RateLimitConfig, RateLimiter
from sandbox.recorder import CallLog, Predicate
from sandbox.redelivery import RETRY_SCHEDULE
from sandbox.response_url import ResponseUrls
from sandbox.server import build_app
from sandbox.triggers import Triggers
from sandbox.view_actions import ViewActions, ViewOutcome
from sandbox.webapi import WebApi
from sandbox.workspace import BotIdentity, Workspace

DEFAULT_SCOPES = (
    "chat:write",
    "chat:write.public",
    "commands",
    "im:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
    "app_mentions:read",
    "files:write",
    "files:read",
    "reactions:read",
    "reactions:write",
)


class Sandbox:
    """A local Slack workspace with one installed bot."""

    def __init__(
        self,
        signing_secret: str = "secret",
        bot_token: str = "xoxb-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T0001",
        team_domain: str = "leadbot-demo",
        request_url: str | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        *,
        bot_name: str = "leadbot",
        app_id: str = "A0SANDBOX",
        verification_token: str = "sandbox-verification",
        rate_limits: bool | RateLimitConfig = True,
        echo_bot_messages: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        ack_timeout: float = 3.0,
        retry_schedule: Sequence[float] = RETRY_SCHEDULE,
        app_token: str | None = None,
        home_tab_enabled: bool = True,
    ) -> None:
        self.request_url = request_url
        self.echo_bot_messages = echo_bot_messages
        bot = BotIdentity(
            user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            name=bot_name,
            team_id=team_id,
            team_domain=team_domain,
        )
        self.workspace = Workspace(bot, wall_clock)
        self.ctx = ApiContext(
            self.workspace,
            frozenset(scopes),
            self._on_bot_message,
            base_url=lambda: self.base_url,
            # Triggers expire on the monotonic `clock`, so tests step a fake one.
            triggers=Triggers(clock),
            home_tab_enabled=home_tab_enabled,
        )
        limiter = None
        if rate_limits is not False:
            config = rate_limits if isinstance(rate_limits, RateLimitConfig) else RateLimitConfig()
            limiter = RateLimiter(config, clock)
        # `app_token` (xapp-) only lets `apps.connections.open` say Socket Mode is not emulated.
        self.api = WebApi(self.ctx, bot_token, limiter, app_token)
        self.log = CallLog(clock)
        self.faults = FaultSwitch()
        self.hooks = ResponseUrls(clock)
        # Slack abandons a request after `ack_timeout` and retries failed events
        # on `retry_schedule`; tests shrink both instead of waiting minutes.
        self.sender = InboundSender(signing_secret, wall_clock, ack_timeout)
        self.actions = Actions(
            self.workspace,
            self.sender,
            self.hooks,
            Endpoints(lambda: self.request_url, lambda: self.base_url),
            self.ctx.scopes,
            verification_token,
            wall_clock,
            retry_schedule=retry_schedule,
            triggers=self.ctx.triggers,
            command_acks=CommandAcks(self.ctx),
        )
        self.view_actions = ViewActions(
            self.ctx, self.sender, lambda: self.request_url, verification_token
        )
        self.base_url: str | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._stopping = asyncio.Event()

    # -- setup -----------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        email: str | None = None,
    ) -> User:
        user = User(
            id=user_id,
            name=name,
            real_name=real_name or name,
            tz=tz,
            is_admin=is_admin,
            email=email,
        )
        self.workspace.add_user(user)
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        members: Iterable[str] = (),
        bot_is_member: bool = True,
        is_private: bool = False,
        is_archived: bool = False,
    ) -> Channel:
        channel = Channel(
            id=channel_id,
            name=name,
            members=list(members),
            bot_is_member=bot_is_member,
            is_private=is_private,
            is_archived=is_archived,
        )
        self.workspace.add_channel(channel)
        return channel

    # -- lifecycle -------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (0 picks a free port); returns the base URL."""
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(build_app(self), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        self._host = host
        self._port = port
        await self.accept_connections()
        self._port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{self._port}"
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()
        await self.actions.close()
        await self.sender.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._site = None

    @property
    def api_url(self) -> str:
        """The `base_url` to give `AsyncWebClient`."""
        if self.base_url is None:
            raise RuntimeError("the sandbox is not started")
        return f"{self.base_url}/api/"

    async def refuse_connections(self) -> None:
        """Close the listening socket (and idle connections): clients get "refused"."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._runner is not None and self._runner.server is not None:
            for connection in self._runner.server.connections:
                connection.close()

    async def accept_connections(self) -> None:
        """Listen again on the same port."""
        if self._runner is None:
            raise RuntimeError("the sandbox is not started")
        if self._site is None:
            self._site = web.TCPSite(self._runner, self._host, self._port)
            await self._site.start()

    async def hold(self, seconds: float) -> None:
        """Delay an answer, but never past `stop()`."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- recorded calls and state ----------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        return self.log.calls

    async def wait_for_call(
        self,
        method: str,
        predicate: Predicate | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented API
    ) -> list[RecordedCall]:
        """Wait for `count` successful calls of `method` matching `predicate`."""
        return await self.log.wait_for(method, predicate, count, timeout)

    def messages(self, channel_id: str) -> list[Message]:
        return self.workspace.messages(channel_id)

    def get_message(self, channel_id: str, ts: str) -> Message:
        message = self.workspace.get_message(channel_id, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel_id}")
        return message

    def files(self) -> list[SharedFile]:
        """Completed uploads, oldest first (channel shares and private files)."""
        return self.ctx.files.all()

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a completed upload (KeyError when there is none)."""
        file = self.ctx.files.get(file_id)
        if file is None:
            raise KeyError(f"no file {file_id}")
        return file.content

    def ephemerals(
        self, channel_id: str | None = None, user_id: str | None = None
    ) -> list[Message]:
        return [
            m
            for m in self.workspace.ephemerals
            if (channel_id is None or m.channel == channel_id)
            and (user_id is None or m.ephemeral_for == user_id)
        ]

    def dm_channel_for(self, user_id: str) -> str | None:
        return self.workspace.dm_channel_for(user_id)

    @property
    def deliveries(self) -> list[Delivery]:
        """Events sent as Slack sends them (user messages, bot echoes, `send_event(retries=True)`),
        each with all its attempts."""
        return self.actions.deliveries

    async def wait_for_delivery(
        self,
        event_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - same shape as wait_for_call
    ) -> Delivery:
        """The delivery of `event_id` (default: the latest) once it has no retries left."""
        delivery = next(
            (d for d in reversed(self.deliveries) if event_id in (None, d.event_id)), None
        )
        if delivery is None:
            raise LookupError(f"no delivery of {event_id or 'any event'}")
        await asyncio.wait_for(delivery.settled.wait(), timeout)
        return delivery

    # -- faults ----------------------------------------------------------

    def set_fault(
        self,
        method: str,
        status: int | None = None,
        delay: float | None = None,
        times: int | None = None,
    ) -> None:
        """Fail `method` (or "*") with `status`, or hold its answer `delay` seconds."""
        self.faults.set(method, status=status, delay=delay, times=times)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- inbound ---------------------------------------------------------

    def sign(
        self, body: bytes, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        """Signing headers for `body`; pass another timestamp or secret to forge bad ones."""
        return self.sender.sign(body, timestamp, secret)

    async def send_raw(
        self, body: bytes, headers: dict[str, str], content_type: str = "application/json"
    ) -> InboundResult:
        """POST exactly these bytes and headers to `request_url`, unsigned unless given."""
        if self.request_url is None:
            raise RuntimeError("sandbox.request_url is not set")
        return await self.sender.post(self.request_url, body, content_type, headers, signed=False)

    async def click_button(
        self, user_id: str, channel_id: str, message_ts: str, label: str = "Claim"
    ) -> InboundResult:
        """Click the button showing `label` in a stored message (LookupError if none)."""
        return await self.actions.click_button(user_id, channel_id, message_ts, label)

    async def send_slash_command(
        self, user_id: str, channel_id: str, text: str, command: str = "/leads"
    ) -> InboundResult:
        return await self.actions.send_slash_command(user_id, channel_id, text, command)

    async def send_event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        retries: bool = False,
    ) -> InboundResult:
        """Deliver `event` in an Events API envelope (same `event_id` for a retry).

        With `retries`, Slack's own redelivery takes over: the attempt is
        recorded in `deliveries` and a failed one is retried on the schedule.
        """
        return await self.actions.send_event(
            event, event_id, retry_num, retry_reason, retries=retries
        )

    async def send_url_verification(self, challenge: str) -> InboundResult:
        return await self.actions.send_url_verification(challenge)

    async def post_user_message(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A person types `text`; it is stored and delivered as a `message` event."""
        return await self.actions.post_user_message(user_id, channel_id, text, thread_ts)

    async def submit_view(
        self,
        user_id: str,
        values: dict[str, dict[str, Any]] | None = None,
        view_id: str | None = None,
    ) -> ViewOutcome:
        """Press Submit on the user's top modal; `values` is `{block_id: {action_id: value}}`.

        Unset inputs keep what the view already holds or its initial value.
        The bot's ack is applied as Slack does (close, errors, clear, update, push).
        """
        return await self.view_actions.submit(user_id, values, view_id)

    async def close_view(self, user_id: str, view_id: str | None = None) -> ViewOutcome:
        """Press Cancel; `view_closed` reaches the bot only for `notify_on_close` views."""
        return await self.view_actions.close(user_id, view_id)

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        """The user's modal stack, bottom first, as `views.*` return each view."""
        return [v.body for v in self.workspace.views.stack(user_id)]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        home = self.workspace.views.homes.get(user_id)
        return home.body if home else None

    def _on_bot_message(self, message: Message) -> None:
        if self.echo_bot_messages:
            self.actions.echo_bot_message(message)


def apply_seed(sb: Sandbox, seed: dict[str, Any]) -> None:
    """Create the users and channels a seed file lists."""
    for user in seed.get("users", []):
        sb.add_user(
            user["id"],
            name=user["name"],
            real_name=user.get("real_name"),
            tz=user.get("tz", "UTC"),
            is_admin=user.get("is_admin", False),
            email=user.get("email"),
        )
    for channel in seed.get("channels", []):
        sb.add_channel(
            channel["id"],
            name=channel["name"],
            members=channel.get("members", []),
            bot_is_member=channel.get("bot_is_member", True),
            is_private=channel.get("is_private", False),
        )
