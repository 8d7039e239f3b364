"""What every Web API method shares: argument reading, errors, access checks.

Handlers are plain functions `(ctx, args) -> body`; they raise `ApiError`
for Slack's `{"ok": false, "error": ...}` answers, which keeps the HTTP layer
ignorant of method rules and the methods ignorant of HTTP.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.blockkit import BlocksFormatError, decode_blocks, fill_missing_ids, validate_blocks
from sandbox.filestore import FileStore
from sandbox.models import Channel, Message
from sandbox.triggers import Triggers
from sandbox.workspace import Workspace

MAX_POST_TEXT = 40_000
MAX_ATTACHMENTS = 100


class ApiError(Exception):
    """A Slack error answer; `extra` is merged into the body (e.g. `needed`)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.code, **self.extra}


class Args:
    """Merged query, form and JSON arguments with Slack's loose typing.

    Query and form values are strings (bools as "1"/"0", lists comma-joined,
    objects as JSON strings); JSON bodies keep their types. Readers accept both.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def string(self, name: str) -> str | None:
        """The value as a string, or None when absent or empty."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        return value if isinstance(value, str) else str(value)

    def required(self, name: str, code: str = "invalid_arguments") -> str:
        value = self.string(name)
        if value is None:
            raise ApiError(code)
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes")
        return bool(value)

    def number(self, name: str, default: int, *, code: str = "invalid_arguments") -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(code) from None

    def decoded(self, name: str, code: str) -> Any:
        """A JSON-valued argument, whether sent decoded (JSON body) or as a string."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(code) from None
        return value


@dataclass(frozen=True)
class Content:
    """The text, blocks and attachments of a message being posted or updated."""

    text: str
    blocks: list[dict[str, Any]] | None
    attachments: list[dict[str, Any]] | None

    @property
    def empty(self) -> bool:
        return not self.text and not self.blocks and not self.attachments


def _not_started() -> str | None:
    return None


@dataclass
class ApiContext:
    """What a method may touch: the workspace, the token's scopes, and hooks.

    `base_url` is read at call time: URLs the sandbox hands out (uploads, file
    links) must point at wherever it is listening now.
    """

    workspace: Workspace
    scopes: frozenset[str]
    on_bot_message: Callable[[Message], None]
    files: FileStore = field(default_factory=FileStore)
    base_url: Callable[[], str | None] = _not_started
    # `views.open`/`views.push` redeem the triggers clicks and commands issue.
    triggers: Triggers = field(default_factory=lambda: Triggers(time.monotonic))
    home_tab_enabled: bool = True

    def require_scope(self, *any_of: str) -> None:
        """Raise Slack's `missing_scope` unless one of `any_of` was granted."""
        if not self.scopes.intersection(any_of):
            raise ApiError(
                "missing_scope", needed=",".join(any_of), provided=",".join(sorted(self.scopes))
            )

    def channel(self, channel_id: str | None) -> Channel:
        """A channel the bot can see; a user id means "the DM with that user", as in Slack.

        A private channel the bot is not in is invisible to it, so Slack answers
        `channel_not_found` rather than admitting it exists.
        """
        ws = self.workspace
        if channel_id is None:
            raise ApiError("channel_not_found")
        if channel_id.startswith(("U", "W")) and channel_id in ws.users:
            return ws.open_dm(channel_id)[0]
        channel = ws.channels.get(channel_id)
        if channel is None or (channel.is_private and not channel.bot_is_member):
            raise ApiError("channel_not_found")
        return channel

    def writable_channel(self, channel_id: str | None) -> Channel:
        """A channel the bot may post in, or the error Slack gives."""
        channel = self.channel(channel_id)
        if channel.is_archived:
            raise ApiError("is_archived")
        if channel.bot_is_member:
            return channel
        if "chat:write.public" not in self.scopes:
            raise ApiError("not_in_channel")
        return channel

    def post_as_bot(
        self, channel: Channel, content: Content, thread_ts: str | None = None
    ) -> Message:
        """Store a bot message from an app's answer (not `chat.postMessage`) and echo it."""
        ws = self.workspace
        root = ws.thread_root(channel.id, thread_ts) if thread_ts else None
        message = ws.post(
            channel.id,
            content.text,
            user=ws.bot.user_id,
            bot_id=ws.bot.bot_id,
            blocks=content.blocks,
            thread_ts=root.ts if root else None,
        )
        self.on_bot_message(message)
        return message

    def content(self, args: Args) -> Content:
        """Read text/blocks/attachments, applying Block Kit checks and `no_text`."""
        text = args.string("text") or ""
        blocks: list[dict[str, Any]] | None = None
        if "blocks" in args and args.values["blocks"] not in (None, ""):
            try:
                blocks = decode_blocks(args.values["blocks"])
            except BlocksFormatError:
                raise ApiError("invalid_blocks_format") from None
            errors = validate_blocks(blocks)
            if errors:
                raise ApiError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
            blocks = fill_missing_ids(blocks, lambda: self.workspace.new_id("sb"))
        attachments = args.decoded("attachments", "invalid_attachments")
        if attachments is not None:
            if not isinstance(attachments, list):
                raise ApiError("invalid_attachments")
            if len(attachments) > MAX_ATTACHMENTS:
                raise ApiError("too_many_attachments")
        content = Content(text=text, blocks=blocks or None, attachments=attachments or None)
        if content.empty:
            raise ApiError("no_text")
        return content


def decode_metadata(args: Args) -> dict[str, Any] | None:
    """Message metadata, sent as a JSON object or a JSON string."""
    metadata = args.decoded("metadata", "invalid_metadata_format")
    if metadata is None or metadata == {}:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise ApiError("invalid_metadata_format")
    payload = metadata.get("event_payload", {})
    if not isinstance(payload, dict):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": payload}


Handler = Callable[[ApiContext, Args], dict[str, Any]]


@dataclass(frozen=True)
class Method:
    """A Web API method: its handler and the scopes of which one must be granted."""

    handler: Handler
    scopes: tuple[str, ...] = ()
