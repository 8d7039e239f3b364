"""`response_url` hooks: issued with every command and click, pointing at the sandbox.

Slack's rule is up to 5 uses within 30 minutes; its codes for a spent or
expired URL are unverified, so the sandbox answers 404 `used_url` and 404
`expired_url`, and 404 `no_service` for an id it never issued. Other errors use
incoming-webhook conventions: a plain-text code with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.api_common import ApiContext, ApiError, Args
from sandbox.models import Message

MAX_USES = 5
LIFETIME_SECONDS = 30 * 60

ERROR_STATUS = {
    "invalid_payload": 400,
    "no_text": 400,
    "invalid_blocks": 400,
    "invalid_blocks_format": 400,
    "user_not_found": 400,
    "action_prohibited": 403,
    "channel_not_found": 404,
    "used_url": 404,
    "expired_url": 404,
    "no_service": 404,
    "channel_is_archived": 410,
}


@dataclass
class Hook:
    """One issued URL and the context it answers into."""

    channel_id: str
    user_id: str
    message_ts: str | None  # the message a click came from; None for commands
    issued_at: float
    uses: int = 0


class ResponseUrls:
    """Issues hook ids and applies what the bot posts to them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._hooks: dict[str, Hook] = {}

    def issue(
        self, hook_id: str, channel_id: str, user_id: str, message_ts: str | None = None
    ) -> None:
        self._hooks[hook_id] = Hook(channel_id, user_id, message_ts, self._clock())

    def respond(self, ctx: ApiContext, hook_id: str, payload: object) -> None:
        """Apply one use of a hook; raises ApiError with the webhook error code."""
        hook = self._hooks.get(hook_id)
        if hook is None:
            raise ApiError("no_service")
        if self._clock() - hook.issued_at > LIFETIME_SECONDS:
            raise ApiError("expired_url")
        if hook.uses >= MAX_USES:
            raise ApiError("used_url")
        if not isinstance(payload, dict):
            raise ApiError("invalid_payload")
        _apply(ctx, hook, Args(payload))
        hook.uses += 1


def _apply(ctx: ApiContext, hook: Hook, args: Args) -> None:
    ws = ctx.workspace
    original = _original(ctx, hook)
    owned = original is not None and original.bot_id == ws.bot.bot_id
    if args.flag("delete_original"):
        if original is None or not owned:
            raise ApiError("action_prohibited")
        if original.ephemeral_for is not None:
            ws.delete_ephemeral(original)
        else:
            ws.delete(original.channel, original.ts)
        return
    content = ctx.content(args)
    if args.flag("replace_original") and original is not None:
        if not owned:
            raise ApiError("action_prohibited")
        if original.ephemeral_for is not None:
            ws.replace_ephemeral(original, text=content.text, blocks=content.blocks)
        else:
            ws.update(original.channel, original.ts, text=content.text, blocks=content.blocks)
        return
    channel = ws.channels.get(hook.channel_id)
    if channel is None:
        raise ApiError("channel_not_found")
    thread_ts = args.string("thread_ts")
    if args.string("response_type") == "in_channel":
        if channel.is_archived:
            raise ApiError("channel_is_archived")
        ctx.post_as_bot(channel, content, thread_ts)
    else:
        ws.post_ephemeral(channel.id, hook.user_id, content.text, content.blocks, thread_ts)


def _original(ctx: ApiContext, hook: Hook) -> Message | None:
    """The message a click came from, if it still exists."""
    if hook.message_ts is None:
        return None
    ws = ctx.workspace
    return ws.get_message(hook.channel_id, hook.message_ts) or ws.find_ephemeral(
        hook.channel_id, hook.message_ts
    )


def error_status(code: str) -> int:
    return ERROR_STATUS.get(code, 400)


def describe(payload: Any) -> dict[str, Any]:
    """What the call log records for a hook use: the JSON body, or a note that it was not JSON."""
    return payload if isinstance(payload, dict) else {"_invalid_body": True}
