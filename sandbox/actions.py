"""What people (and Slack itself) send to the bot: clicks, commands, messages, events.

Each flow finds what Slack would know (the stored message, the user, the
channel), issues a response_url and trigger_id where Slack does, builds the
payload and sends it signed to the bot's request URL. Events Slack sends on
its own go through `Redelivery`, which retries them as Slack does.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox import payloads
from sandbox.api_conversations import HISTORY_SCOPES
from sandbox.command_acks import CommandAcks
from sandbox.inbound import FORM, JSON, InboundSender
from sandbox.models import Channel, InboundResult, Message, User
from sandbox.redelivery import RETRY_SCHEDULE, Delivery, Redelivery
from sandbox.response_url import ResponseUrls
from sandbox.triggers import Triggers
from sandbox.workspace import Workspace

__all__ = ["Actions", "Delivery", "Endpoints"]


@dataclass(frozen=True)
class Endpoints:
    """Where things go; read at send time because both can change after start."""

    request_url: Callable[[], str | None]
    base_url: Callable[[], str | None]


class Actions:
    def __init__(
        self,
        workspace: Workspace,
        sender: InboundSender,
        hooks: ResponseUrls,
        endpoints: Endpoints,
        scopes: frozenset[str],
        verification_token: str,
        wall_clock: Callable[[], float],
        *,
        retry_schedule: Sequence[float] = RETRY_SCHEDULE,
        triggers: Triggers | None = None,
        command_acks: CommandAcks,
    ) -> None:
        self.ws = workspace
        self.command_acks = command_acks
        self.sender = sender
        self.hooks = hooks
        self.endpoints = endpoints
        self.scopes = scopes
        self.token = verification_token
        self._wall_clock = wall_clock
        self.redelivery = Redelivery(sender, endpoints.request_url, retry_schedule)
        self.deliveries: list[Delivery] = self.redelivery.deliveries
        # Shared with `views.open`, which redeems what clicks and commands issue.
        self.triggers = triggers if triggers is not None else Triggers(time.monotonic)
        self._tasks: set[asyncio.Task[None]] = set()
        self._event_seq = 0

    # -- interactive -----------------------------------------------------

    async def click_button(
        self, user_id: str, channel_id: str, message_ts: str, label: str
    ) -> InboundResult:
        url = self._request_url()
        user, channel = self._user(user_id), self._channel(channel_id)
        message = self.ws.get_message(channel.id, message_ts)
        if message is None:
            ephemeral = self.ws.find_ephemeral(channel.id, message_ts)
            if ephemeral is not None and ephemeral.ephemeral_for == user.id:
                message = ephemeral
        if message is None:
            raise LookupError(f"no message {message_ts} in {channel_id}")
        block_id, button = payloads.find_button(message, label)
        payload = payloads.block_actions(
            bot=self.ws.bot,
            token=self.token,
            user=user,
            channel=channel,
            message=message,
            block_id=block_id,
            button=button,
            response_url=self._issue_hook(channel, user, message.ts),
            trigger_id=self.triggers.issue(user.id),
            action_ts=self._now_ts(),
        )
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        result = await self.sender.post(url, body.encode(), FORM)
        if result.timed_out:
            self.ws.notify(
                channel.id, user.id, f'"{label}" failed with the error "operation_timeout"'
            )
        return result

    async def send_slash_command(
        self, user_id: str, channel_id: str, text: str, command: str
    ) -> InboundResult:
        url = self._request_url()
        user, channel = self._user(user_id), self._channel(channel_id)
        form = payloads.slash_command_form(
            bot=self.ws.bot,
            token=self.token,
            user=user,
            channel=channel,
            command=command,
            text=text,
            response_url=self._issue_hook(channel, user, None),
            trigger_id=self.triggers.issue(user.id),
        )
        result = await self.sender.post(url, form.encode(), FORM)
        self.command_acks.apply(channel, user, command, result)
        return result

    # -- events ----------------------------------------------------------

    async def send_event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        retries: bool = False,
    ) -> InboundResult:
        """Send `event` once, or with `retries` as Slack does: recorded, redelivered on failure.

        With `retries` the first attempt's result is returned (a connection
        failure included) and redeliveries go on in the background.
        """
        event_id = event_id or self.new_event_id()
        envelope = payloads.event_envelope(
            bot=self.ws.bot,
            token=self.token,
            event=event,
            event_id=event_id,
            event_time=int(self._wall_clock()),
        )
        body = json.dumps(envelope).encode()
        if retries:
            return await self.redelivery.deliver(event, event_id, body)
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return await self.sender.post(self._request_url(), body, JSON, headers)

    async def send_url_verification(self, challenge: str) -> InboundResult:
        body = json.dumps(
            {"token": self.token, "challenge": challenge, "type": "url_verification"}
        ).encode()
        return await self.sender.post(self._request_url(), body, JSON)

    def new_event_id(self) -> str:
        self._event_seq += 1
        return f"Ev0SB{self._event_seq:06d}"

    async def post_user_message(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None
    ) -> Message:
        """Store what a person typed, then deliver it as Slack would."""
        user, channel = self._user(user_id), self._channel(channel_id)
        if user.id not in channel.members:
            raise ValueError(f"{user_id} is not a member of {channel_id}")
        names = {u.name.lower(): u.id for u in self.ws.users.values()}
        names[self.ws.bot.name.lower()] = self.ws.bot.user_id
        wire = payloads.to_wire_text(text, names)
        root = None
        if thread_ts is not None:
            root = self.ws.thread_root(channel.id, thread_ts)
            if root is None:
                raise LookupError(f"no message {thread_ts} in {channel_id}")
        message = self.ws.post(
            channel.id,
            wire,
            user=user.id,
            thread_ts=root.ts if root else None,
            blocks=payloads.rich_text_blocks(wire, self.ws.new_id("rt")),
        )
        event = payloads.message_event(
            message, channel, self.ws.bot, root.user if root else None, str(uuid.uuid4())
        )
        events = []
        if channel.bot_is_member and HISTORY_SCOPES[channel.channel_type] in self.scopes:
            events.append(event)
        if (
            self.ws.bot.user_id in payloads.mentioned_users(wire)
            and channel.bot_is_member
            and "app_mentions:read" in self.scopes
        ):
            events.append(payloads.app_mention_event(event))
        for item in events:
            await self._deliver(item)
        return message

    def echo_bot_message(self, message: Message) -> None:
        """The bot's own post comes back as a `message` event, as in Slack."""
        channel = self.ws.channels.get(message.channel)
        if channel is None or self.endpoints.request_url() is None:
            return
        parent = (
            self.ws.get_message(channel.id, message.thread_ts)
            if message.thread_ts and message.is_reply
            else None
        )
        event = payloads.message_event(
            message, channel, self.ws.bot, parent.user if parent else None, None
        )
        task = asyncio.get_running_loop().create_task(self._deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.redelivery.close()

    async def _deliver(self, event: dict[str, Any]) -> None:
        """Send an event Slack would send unasked; failures are recorded, not raised."""
        if self.endpoints.request_url() is None:
            self.redelivery.skip(event, "no request_url")
            return
        await self.send_event(event, retries=True)

    # -- helpers ---------------------------------------------------------

    def _user(self, user_id: str) -> User:
        if user_id not in self.ws.users:
            raise LookupError(f"unknown user {user_id}")
        return self.ws.users[user_id]

    def _channel(self, channel_id: str) -> Channel:
        if channel_id not in self.ws.channels:
            raise LookupError(f"unknown channel {channel_id}")
        return self.ws.channels[channel_id]

    def _request_url(self) -> str:
        url = self.endpoints.request_url()
        if url is None:
            raise RuntimeError("sandbox.request_url is not set")
        return url

    def _issue_hook(self, channel: Channel, user: User, message_ts: str | None) -> str:
        base = self.endpoints.base_url()
        if base is None:
            raise RuntimeError("start the sandbox first: response_url must point at it")
        hook_id = f"{self.ws.bot.team_id}-{self.ws.new_id()}-{secrets.token_hex(8)}"
        self.hooks.issue(hook_id, channel.id, user.id, message_ts)
        return f"{base}/response_url/{hook_id}"

    def _now_ts(self) -> str:
        return f"{self._wall_clock():.6f}"
