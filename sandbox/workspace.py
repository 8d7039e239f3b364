"""The emulated workspace: users, conversations and their messages.

Only state and the rules that keep it consistent (ts order, thread links,
one DM per user) live here; Slack's request checks and error codes live in
the Web API modules.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.models import Channel, Message, User
from sandbox.views import ViewStore


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot token belongs to, as `auth.test` reports it."""

    user_id: str
    bot_id: str
    app_id: str
    name: str
    team_id: str
    team_domain: str

    @property
    def team_name(self) -> str:
        return self.team_domain


#: Slack's own user, who tells people when an app failed them.
SLACKBOT = "USLACKBOT"


class Workspace:
    """Users, channels, DMs, stored messages and ephemerals."""

    def __init__(self, bot: BotIdentity, wall_clock: Callable[[], float]) -> None:
        self.bot = bot
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[Message] = []
        self._messages: dict[str, dict[str, Message]] = {}
        self._wall_clock = wall_clock
        self._last_micros = 0
        self._ids = itertools.count(1)
        # Open modals and Home tabs per user (`views.*`, submissions).
        self.views = ViewStore(wall_clock)

    # -- setup -----------------------------------------------------------

    def add_user(self, user: User) -> None:
        self.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        channel.created = channel.created or int(self._wall_clock())
        self.channels[channel.id] = channel
        self._messages.setdefault(channel.id, {})

    def open_dm(self, user_id: str) -> tuple[Channel, bool]:
        """The user's DM with the bot and whether it already existed."""
        existing = self.dm_channel_for(user_id)
        if existing is not None:
            return self.channels[existing], True
        # Stable and readable: U0ALICE -> D0ALICE.
        channel = Channel(
            id="D" + user_id[1:],
            name=user_id,
            is_private=True,
            is_im=True,
            im_user=user_id,
            members=[user_id],
            bot_is_member=True,
        )
        self.add_channel(channel)
        return channel, False

    def dm_channel_for(self, user_id: str) -> str | None:
        return next(
            (c.id for c in self.channels.values() if c.is_im and c.im_user == user_id), None
        )

    # -- ids -------------------------------------------------------------

    def next_ts(self) -> str:
        """A unique `\\d{10}\\.\\d{6}` ts, strictly increasing across the workspace."""
        micros = max(self._last_micros + 1, int(self._wall_clock() * 1_000_000))
        self._last_micros = micros
        return f"{micros // 1_000_000:010d}.{micros % 1_000_000:06d}"

    def now(self) -> float:
        """Wall-clock seconds, for `created` stamps."""
        return self._wall_clock()

    def new_id(self, prefix: str = "") -> str:
        """A short deterministic id for generated block_ids, triggers and the like."""
        return f"{prefix}{next(self._ids):05d}"

    # -- messages --------------------------------------------------------

    def messages(self, channel_id: str) -> list[Message]:
        """All stored messages in ts order, replies included."""
        return sorted(self._messages.get(channel_id, {}).values(), key=lambda m: m.ts)

    def get_message(self, channel_id: str, ts: str) -> Message | None:
        return self._messages.get(channel_id, {}).get(ts)

    def top_level(self, channel_id: str) -> list[Message]:
        """What `conversations.history` lists: everything but thread replies."""
        return [m for m in self.messages(channel_id) if not m.is_reply]

    def post(
        self,
        channel_id: str,
        text: str,
        *,
        user: str | None,
        bot_id: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        subtype: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> Message:
        """Store a new message; a reply bumps its parent's thread fields."""
        ts = self.next_ts()
        message = Message(
            ts=ts,
            channel=channel_id,
            text=text,
            blocks=blocks,
            metadata=metadata,
            user=user,
            bot_id=bot_id,
            thread_ts=thread_ts,
            attachments=attachments,
            app_id=self.bot.app_id if bot_id else None,
            subtype=subtype,
            files=files,
        )
        store = self._messages.setdefault(channel_id, {})
        store[ts] = message
        if thread_ts is not None:
            parent = store[thread_ts]
            store[thread_ts] = dataclasses.replace(
                parent,
                thread_ts=parent.ts,
                reply_count=parent.reply_count + 1,
                reply_users=(*parent.reply_users, user or bot_id or ""),
                latest_reply=ts,
            )
        return message

    def thread_root(self, channel_id: str, ts: str) -> Message | None:
        """The parent a reply to `ts` belongs to (replying to a reply joins its thread)."""
        message = self.get_message(channel_id, ts)
        if message is not None and message.is_reply and message.thread_ts:
            return self.get_message(channel_id, message.thread_ts)
        return message

    def update(self, channel_id: str, ts: str, **changes: Any) -> Message:
        """Replace fields of a stored message, counting the edit."""
        old = self._messages[channel_id][ts]
        new = dataclasses.replace(old, edited=old.edited + 1, edited_ts=self.next_ts(), **changes)
        self._messages[channel_id][ts] = new
        return new

    def replace(self, channel_id: str, ts: str, **changes: Any) -> Message:
        """Replace fields that Slack does not count as an edit (e.g. reactions)."""
        new = dataclasses.replace(self._messages[channel_id][ts], **changes)
        self._messages[channel_id][ts] = new
        return new

    def delete(self, channel_id: str, ts: str) -> None:
        """Remove a message; a deleted reply no longer counts on its parent."""
        store = self._messages[channel_id]
        message = store.pop(ts)
        if message.is_reply and message.thread_ts in store:
            parent = store[message.thread_ts]
            store[parent.ts] = dataclasses.replace(parent, reply_count=parent.reply_count - 1)

    # -- ephemerals ------------------------------------------------------

    def post_ephemeral(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> Message:
        message = Message(
            ts=self.next_ts(),
            channel=channel_id,
            text=text,
            blocks=blocks,
            user=self.bot.user_id,
            bot_id=self.bot.bot_id,
            thread_ts=thread_ts,
            ephemeral_for=user_id,
            app_id=self.bot.app_id,
        )
        self.ephemerals.append(message)
        return message

    def notify(self, channel_id: str, user_id: str, text: str) -> Message:
        """A notice from Slackbot only `user_id` sees, e.g. that an app failed to answer."""
        message = Message(
            ts=self.next_ts(), channel=channel_id, text=text, user=SLACKBOT, ephemeral_for=user_id
        )
        self.ephemerals.append(message)
        return message

    def find_ephemeral(self, channel_id: str, ts: str) -> Message | None:
        return next((m for m in self.ephemerals if m.channel == channel_id and m.ts == ts), None)

    def replace_ephemeral(self, old: Message, **changes: Any) -> Message:
        new = dataclasses.replace(old, edited=old.edited + 1, **changes)
        self.ephemerals[self.ephemerals.index(old)] = new
        return new

    def delete_ephemeral(self, message: Message) -> None:
        self.ephemerals.remove(message)

    # -- views for tests and the page -----------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the web page shows, as JSON."""
        users = [dataclasses.asdict(u) for u in self.users.values()]
        channels = []
        for channel in self.channels.values():
            item = dataclasses.asdict(channel)
            item["messages"] = [self._message_json(m) for m in self.messages(channel.id)]
            item["ephemerals"] = [
                self._message_json(m) for m in self.ephemerals if m.channel == channel.id
            ]
            channels.append(item)
        return {
            "team": {"id": self.bot.team_id, "domain": self.bot.team_domain},
            "bot": {"user_id": self.bot.user_id, "bot_id": self.bot.bot_id, "name": self.bot.name},
            "users": users,
            "channels": channels,
            "views": self.views.snapshot(),
        }

    @staticmethod
    def _message_json(message: Message) -> dict[str, Any]:
        out = message.to_api()
        out["channel"] = message.channel
        out["edited_count"] = message.edited
        out["ephemeral_for"] = message.ephemeral_for
        out["reply_count"] = message.reply_count
        return out
