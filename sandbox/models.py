"""Plain values the sandbox stores and hands to tests.

Messages are frozen: every edit replaces the stored object, so a test that
holds a `Message` keeps a snapshot instead of watching it change under it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class User:
    """A workspace member as `users.info` describes it."""

    id: str
    name: str
    real_name: str
    tz: str = "UTC"
    is_admin: bool = False
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False


@dataclass
class Channel:
    """A conversation. DMs (`is_im`) belong to one human user and the bot."""

    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    members: list[str] = field(default_factory=list)
    bot_is_member: bool = True
    is_archived: bool = False
    created: int = 0

    @property
    def channel_type(self) -> str:
        """The `channel_type` Slack puts on message events."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"


@dataclass(frozen=True)
class Reaction:
    """One emoji on a message and who added it, oldest first."""

    name: str
    users: tuple[str, ...]

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "users": list(self.users), "count": len(self.users)}


@dataclass(frozen=True)
class Message:
    """One stored message (or an ephemeral one, with `ephemeral_for` set)."""

    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    reply_users: tuple[str, ...] = ()
    latest_reply: str | None = None
    edited: int = 0
    edited_ts: str | None = None
    ephemeral_for: str | None = None
    attachments: list[dict[str, Any]] | None = None
    app_id: str | None = None
    #: `file_share` for messages made by `files.completeUploadExternal`.
    subtype: str | None = None
    #: Slack file objects shared by this message (set with `subtype="file_share"`).
    files: list[dict[str, Any]] | None = None
    #: In the order first added, as Slack lists them; changing them is not an edit.
    reactions: tuple[Reaction, ...] = ()

    @property
    def is_reply(self) -> bool:
        """True for a thread reply (its `thread_ts` names another message)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, include_metadata: bool = True) -> dict[str, Any]:
        """The message as Slack's Web API and payloads show it."""
        out: dict[str, Any] = {"type": "message", "text": self.text, "ts": self.ts}
        if self.subtype is not None:
            out["subtype"] = self.subtype
        if self.files is not None:
            out["files"] = self.files
            out["upload"] = True
            out["display_as_bot"] = False
        if self.user is not None:
            out["user"] = self.user
        if self.bot_id is not None:
            out["bot_id"] = self.bot_id
            if self.app_id is not None:
                out["app_id"] = self.app_id
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments is not None:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.thread_ts == self.ts and self.reply_count:
            out["reply_count"] = self.reply_count
            out["reply_users"] = list(self.reply_users)
            out["reply_users_count"] = len(set(self.reply_users))
            out["latest_reply"] = self.latest_reply
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.edited_ts or self.ts}
        if include_metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        if self.reactions:
            out["reactions"] = [r.to_api() for r in self.reactions]
        return out


@dataclass(frozen=True)
class RecordedCall:
    """One request the sandbox answered, failed ones included."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float
    #: Headers of the answer that matter to clients, e.g. `Retry-After` on a 429.
    headers: dict[str, str] = field(default_factory=dict)
    #: The caller's end of the TCP connection ("host:port"): calls that share one came
    #: over a kept-alive connection. None when not known.
    connection: str | None = None

    @property
    def retry_after(self) -> int | None:
        """The `Retry-After` seconds Slack asked for, on a 429."""
        value = self.headers.get("Retry-After")
        return int(value) if value is not None else None

    @property
    def ok(self) -> bool:
        """True when Slack would have answered HTTP 200 with `ok: true`."""
        return self.status == 200 and self.response.get("ok") is True

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the admin endpoint."""
        return {
            "method": self.method,
            "args": self.args,
            "status": self.status,
            "response": self.response,
            "at": self.at,
            "headers": self.headers,
            "connection": self.connection,
        }


@dataclass(frozen=True)
class InboundResult:
    """What the bot answered to a request the sandbox sent it.

    Slack gives up on a request after its ack timeout (3 s): then `timed_out`
    is set and `status` is 0, as no answer was read. A request that could not
    be sent at all has `status` 0 and `error` saying why.
    """

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float
    timed_out: bool = False
    error: str | None = None

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body)

    @property
    def acked_in_time(self) -> bool:
        """Slack shows the user an error when the ack takes over 3 seconds."""
        return not self.timed_out and 200 <= self.status < 300 and self.elapsed <= 3.0

    @property
    def failure(self) -> str | None:
        """Slack's `X-Slack-Retry-Reason` for this outcome; None when it succeeded."""
        if self.timed_out:
            return "http_timeout"
        if self.error is not None:
            return "connection_failed"
        return None if 200 <= self.status < 300 else "http_error"
