"""`files.*`: the external upload flow `files_upload_v2` drives, and `files.info`.

slack_sdk runs `files.getUploadURLExternal` (a reservation and a URL), POSTs
the bytes to that URL verbatim without a token, then `files.completeUploadExternal`
once for all files. The URL must therefore be a live loopback URL on the
sandbox (contract quirk 8); `file_routes` answers it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sandbox.api_common import ApiContext, ApiError, Args, Method
from sandbox.filestore import Share, SharedFile
from sandbox.models import Channel, Message
from sandbox.payloads import escape_text

MAX_ALT_TXT = 1000

# What Slack keeps as-is in message text: entities and `<…>` control sequences.
_KEEP = re.compile(r"&(?:amp|lt|gt);|<(?:[@#!]|https?://|mailto:)[^<>]*>")


def get_upload_url(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Reserve a file id and an upload URL on this sandbox.

    A missing or non-numeric `filename`/`length` gives `invalid_arguments`
    (Slack's generic argument check; the exact code is unverified) and
    `length` ≤ 0 gives `missing_argument`, as the method docs list it.
    """
    filename = args.string("filename")
    if filename is None:
        raise _invalid("missing required field: filename")
    if args.string("length") is None:
        raise _invalid("missing required field: length")
    length = args.number("length", 0)
    if length <= 0:
        raise ApiError("missing_argument")
    alt_txt = args.string("alt_txt")
    if alt_txt is not None and len(alt_txt) > MAX_ALT_TXT:
        raise ApiError("alt_txt_too_large")
    base = _base_url(ctx)
    file_id = ctx.workspace.new_id("F0SB")
    pending = ctx.files.reserve(file_id, filename, length, alt_txt, args.string("snippet_type"))
    return {"upload_url": f"{base}/upload/{file_id}/{pending.secret}", "file_id": file_id}


def complete_upload(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Finish uploads and, with a channel, share them in one `file_share` message.

    Everything is checked before anything is stored, so a failed call leaves
    the reservations usable. A byte count that differs from the announced
    `length` gives `invalid_arguments`: Slack rejects it, but with which code
    is unverified.
    """
    requested = _requested_files(args)
    ws = ctx.workspace
    uploads = []
    for item in requested:
        pending = ctx.files.pending(str(item["id"]))
        if pending is None or pending.data is None:
            raise ApiError("file_not_found")
        if len(pending.data) != pending.length:
            raise _invalid(f"uploaded {len(pending.data)} bytes, announced {pending.length}")
        uploads.append((pending, item.get("title")))
    channels = [ctx.writable_channel(c) for c in _channel_ids(args)]
    thread_ts = args.string("thread_ts")
    roots: dict[str, str | None] = {}
    for channel in channels:
        roots[channel.id] = _thread_root(ctx, channel, thread_ts)
    blocks = _blocks(ctx, args)
    created = int(ws.now())
    files = [
        SharedFile(
            id=pending.file_id,
            name=pending.filename,
            title=str(title or pending.filename),
            user=ws.bot.user_id,
            created=created,
            content=pending.data or b"",
            alt_txt=pending.alt_txt,
            snippet_type=pending.snippet_type,
        )
        for pending, title in uploads
    ]
    comment = wire_text(args.string("initial_comment") or "")
    for channel in channels:
        message = _share(ctx, channel, files, comment, blocks, roots[channel.id])
        share = Share(channel.id, channel.name, channel.is_private, message.ts, message.thread_ts)
        files = [dataclasses.replace(f, shares=(*f.shares, share)) for f in files]
    for file in files:
        ctx.files.store(file)
    return {"files": [_file_json(ctx, f) for f in files]}


def files_info(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """A completed file, shared or private; reservations are not files yet."""
    file = ctx.files.get(args.required("file", "file_not_found"))
    if file is None:
        raise ApiError("file_not_found")
    return {"file": _file_json(ctx, file), "comments": [], "response_metadata": {"next_cursor": ""}}


def wire_text(text: str) -> str:
    """Text as Slack stores it: stray `&`, `<`, `>` escaped, entities and `<…>` links kept.

    A bot that escapes its own text (as it should) is not escaped twice, and a
    raw `<!channel>` stays live, so an injection shows up in the stored text.
    That Slack treats `initial_comment` exactly like message text is unverified.
    """
    out: list[str] = []
    last = 0
    for match in _KEEP.finditer(text):
        out.append(escape_text(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(escape_text(text[last:]))
    return "".join(out)


def _share(
    ctx: ApiContext,
    channel: Channel,
    files: list[SharedFile],
    comment: str,
    blocks: list[dict[str, Any]] | None,
    thread_ts: str | None,
) -> Message:
    """Post the file-share message and let it echo to the bot like any bot post."""
    ws = ctx.workspace
    shown = [_file_json(ctx, f, with_shares=False) for f in files]
    for item in shown:
        # The share being made is not recorded yet; it already makes the file public.
        item["is_public"] = item["is_public"] or not channel.is_private
    message = ws.post(
        channel.id,
        comment,
        user=ws.bot.user_id,
        bot_id=ws.bot.bot_id,
        blocks=blocks,
        thread_ts=thread_ts,
        subtype="file_share",
        files=shown,
    )
    ctx.on_bot_message(message)
    return message


def _requested_files(args: Args) -> list[dict[str, Any]]:
    """`files` as `[{"id", "title"?}]`, sent as a JSON string (or a list in JSON bodies)."""
    if args.string("files") is None:
        raise _invalid("missing required field: files")
    items = args.decoded("files", "invalid_arguments")
    if not isinstance(items, list) or not items:
        raise _invalid("files must be a non-empty array")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _invalid("each file needs an id")
    return items


def _channel_ids(args: Args) -> list[str]:
    """`channel_id` wins over `channels`, as slack_sdk only ever sends one of them."""
    channel_id = args.string("channel_id")
    if channel_id is not None:
        return [channel_id]
    return [c.strip() for c in (args.string("channels") or "").split(",") if c.strip()]


def _thread_root(ctx: ApiContext, channel: Channel, thread_ts: str | None) -> str | None:
    if thread_ts is None:
        return None
    root = ctx.workspace.thread_root(channel.id, thread_ts)
    if root is None:
        raise ApiError("thread_not_found")
    return root.ts


def _blocks(ctx: ApiContext, args: Args) -> list[dict[str, Any]] | None:
    """Validate `blocks` with the same Block Kit rules as `chat.postMessage`."""
    if args.string("blocks") is None and not args.values.get("blocks"):
        return None
    return ctx.content(Args({"blocks": args.values["blocks"]})).blocks


def _file_json(ctx: ApiContext, file: SharedFile, *, with_shares: bool = True) -> dict[str, Any]:
    bot = ctx.workspace.bot
    return file.to_api(_base_url(ctx), bot.team_id, bot.team_domain, with_shares=with_shares)


def _base_url(ctx: ApiContext) -> str:
    base = ctx.base_url()
    if base is None:
        raise RuntimeError("start the sandbox first: upload and file URLs must point at it")
    return base


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


METHODS: dict[str, Method] = {
    "files.getUploadURLExternal": Method(get_upload_url, ("files:write",)),
    "files.completeUploadExternal": Method(complete_upload, ("files:write",)),
    "files.info": Method(files_info, ("files:read",)),
}
