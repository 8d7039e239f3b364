"""`chat.*` methods: posting, editing, ephemerals and permalinks."""

from __future__ import annotations

from typing import Any

from sandbox.api_common import (
    MAX_POST_TEXT,
    ApiContext,
    ApiError,
    Args,
    Method,
    decode_metadata,
)

MAX_UPDATE_TEXT = 4_000


def post_message(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Store a bot message; Slack truncates text beyond 40,000 characters."""
    channel = ctx.writable_channel(args.string("channel"))
    content = ctx.content(args)
    metadata = decode_metadata(args)
    ws = ctx.workspace
    thread_ts = args.string("thread_ts")
    if thread_ts is not None:
        # Unverified corner: the sandbox refuses an unknown thread instead of guessing.
        root = ws.thread_root(channel.id, thread_ts)
        if root is None:
            raise ApiError("thread_not_found")
        thread_ts = root.ts
    message = ws.post(
        channel.id,
        content.text[:MAX_POST_TEXT],
        user=ws.bot.user_id,
        bot_id=ws.bot.bot_id,
        blocks=content.blocks,
        metadata=metadata,
        thread_ts=thread_ts,
        attachments=content.attachments,
    )
    ctx.on_bot_message(message)
    body = message.to_api()
    body["team"] = ws.bot.team_id
    if thread_ts is not None:
        body["parent_user_id"] = _user_of(ctx, channel.id, thread_ts)
    return {"channel": channel.id, "ts": message.ts, "message": body}


def update(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Edit a message this bot posted; ephemerals are not editable here."""
    channel = ctx.channel(args.string("channel"))
    ts = args.required("ts", "message_not_found")
    ws = ctx.workspace
    old = ws.get_message(channel.id, ts)
    if old is None:
        raise ApiError("message_not_found")
    if old.bot_id != ws.bot.bot_id:
        raise ApiError("cant_update_message")
    text = args.string("text")
    if text is not None and len(text) > MAX_UPDATE_TEXT:
        raise ApiError("msg_too_long")
    content = ctx.content(args)
    changes: dict[str, Any] = {"text": content.text}
    if "blocks" in args:
        changes["blocks"] = content.blocks
    if "attachments" in args:
        changes["attachments"] = content.attachments
    if "metadata" in args:
        changes["metadata"] = decode_metadata(args)
    new = ws.update(channel.id, ts, **changes)
    return {"channel": channel.id, "ts": ts, "text": new.text, "message": new.to_api()}


def post_ephemeral(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Show a message to one member; it never enters history."""
    channel = ctx.writable_channel(args.string("channel"))
    user = args.required("user", "user_not_found")
    if user not in ctx.workspace.users:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    content = ctx.content(args)
    if len(content.text) > MAX_POST_TEXT:
        raise ApiError("msg_too_long")
    message = ctx.workspace.post_ephemeral(
        channel.id, user, content.text, content.blocks, args.string("thread_ts")
    )
    return {"message_ts": message.ts}


def get_permalink(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = ctx.channel(args.string("channel"))
    ts = args.required("message_ts", "message_not_found")
    message = ctx.workspace.get_message(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    link = (
        f"https://{ctx.workspace.bot.team_domain}.slack.com/archives/{channel.id}"
        f"/p{ts.replace('.', '')}"
    )
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


def _user_of(ctx: ApiContext, channel_id: str, ts: str) -> str | None:
    message = ctx.workspace.get_message(channel_id, ts)
    return message.user if message else None


METHODS: dict[str, Method] = {
    "chat.postMessage": Method(post_message, ("chat:write",)),
    "chat.update": Method(update, ("chat:write",)),
    "chat.postEphemeral": Method(post_ephemeral, ("chat:write",)),
    "chat.getPermalink": Method(get_permalink),
}
