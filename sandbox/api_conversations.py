"""`auth.test`, `conversations.*` and `users.*`: identity and lookups."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import zoneinfo
from collections.abc import Sequence
from typing import Any, TypeVar

from sandbox.api_common import ApiContext, ApiError, Args, Method
from sandbox.models import Channel, User

T = TypeVar("T")

HISTORY_SCOPES = {"channel": "channels:history", "group": "groups:history", "im": "im:history"}
READ_SCOPES = {"channel": "channels:read", "group": "groups:read", "im": "im:read"}


def auth_test(ctx: ApiContext, args: Args) -> dict[str, Any]:
    bot = ctx.workspace.bot
    return {
        "url": f"https://{bot.team_domain}.slack.com/",
        "team": bot.team_name,
        "user": bot.name,
        "team_id": bot.team_id,
        "user_id": bot.user_id,
        "bot_id": bot.bot_id,
        "is_enterprise_install": False,
    }


def conversations_open(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Open (or re-open) the bot's DM with one user; group DMs are not emulated."""
    ws = ctx.workspace
    if args.string("channel") is not None:
        channel = ctx.channel(args.string("channel"))
        if not channel.is_im:
            raise ApiError("method_not_supported_for_channel_type")
        existed = True
    else:
        users = [u for u in (args.string("users") or "").split(",") if u.strip()]
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 8:
            raise ApiError("too_many_users")
        for user_id in users:
            if user_id.strip() not in ws.users:
                raise ApiError("user_not_found")
        if len(users) > 1:
            raise ApiError("method_not_supported_for_channel_type")  # mpim: not emulated
        channel, existed = ws.open_dm(users[0].strip())
    body: dict[str, Any] = {
        "channel": _im_json(channel) if args.flag("return_im") else {"id": channel.id}
    }
    if existed:
        body.update(no_op=True, already_open=True)
    return body


def conversations_history(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Newest first, cursor-paged; metadata only with `include_all_metadata`."""
    channel = ctx.channel(args.string("channel"))
    ctx.require_scope(HISTORY_SCOPES[channel.channel_type])
    if not channel.bot_is_member:
        raise ApiError("not_in_channel")
    oldest = _ts_arg(args, "oldest", 0.0)
    latest = _ts_arg(args, "latest", float("inf"))
    inclusive = args.flag("inclusive")

    def in_window(ts: float) -> bool:
        if inclusive:
            return oldest <= ts <= latest
        return oldest < ts < latest

    found = [m for m in reversed(ctx.workspace.top_level(channel.id)) if in_window(float(m.ts))]
    # The cursor names the ts to resume at, so messages posted meanwhile do not shift pages.
    limit = _limit(args)
    resume = _decode_cursor(args.string("cursor"), "next_ts")
    if resume is not None:
        found = [m for m in found if m.ts <= resume]
    page = found[:limit]
    next_cursor = _encode_cursor("next_ts", found[limit].ts) if len(found) > limit else ""
    with_metadata = args.flag("include_all_metadata")
    return {
        "messages": [m.to_api(include_metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_members(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = ctx.channel(args.string("channel"))
    ctx.require_scope(READ_SCOPES[channel.channel_type])
    members = list(channel.members)
    if channel.bot_is_member:
        members.append(ctx.workspace.bot.user_id)
    page, next_cursor = _page(members, args)
    return {"members": page, "response_metadata": {"next_cursor": next_cursor}}


def users_info(ctx: ApiContext, args: Args) -> dict[str, Any]:
    user = ctx.workspace.users.get(args.string("user") or "")
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user_json(user, ctx.workspace.bot.team_id, "users:read.email" in ctx.scopes)}


def users_list(ctx: ApiContext, args: Args) -> dict[str, Any]:
    team = ctx.workspace.bot.team_id
    with_email = "users:read.email" in ctx.scopes
    everyone = [user_json(u, team, with_email) for u in ctx.workspace.users.values()]
    page, next_cursor = _page(everyone, args)
    return {"members": page, "cache_ts": 0, "response_metadata": {"next_cursor": next_cursor}}


def user_json(user: User, team_id: str, with_email: bool) -> dict[str, Any]:
    """The `users.info` shape; the email needs `users:read.email`."""
    offset, label = _tz_details(user.tz)
    profile: dict[str, Any] = {
        "real_name": user.real_name,
        "display_name": user.name,
        "real_name_normalized": user.real_name,
        "display_name_normalized": user.name,
        "team": team_id,
        "image_48": "",
        "image_72": "",
    }
    if with_email:
        profile["email"] = user.email or f"{user.name}@example.com"
    return {
        "id": user.id,
        "team_id": team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": label,
        "tz_offset": offset,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 0,
    }


def _tz_details(tz: str) -> tuple[int, str]:
    try:
        now = dt.datetime.now(zoneinfo.ZoneInfo(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return 0, tz
    offset = now.utcoffset()
    return int(offset.total_seconds()) if offset else 0, now.tzname() or tz


def _im_json(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "created": channel.created,
        "is_im": True,
        "is_org_shared": False,
        "user": channel.im_user,
        "is_user_deleted": False,
        "priority": 0,
    }


def _ts_arg(args: Args, name: str, default: float) -> float:
    value = args.string(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ApiError("invalid_ts_" + name) from None


def _limit(args: Args) -> int:
    return max(1, min(args.number("limit", 100, code="invalid_limit"), 1000))


def _page(items: Sequence[T], args: Args) -> tuple[list[T], str]:
    """One page of a stable list from `cursor`/`limit`."""
    limit = _limit(args)
    start = int(_decode_cursor(args.string("cursor"), "offset") or 0)
    end = start + limit
    next_cursor = _encode_cursor("offset", str(end)) if end < len(items) else ""
    return list(items[start:end]), next_cursor


def _encode_cursor(kind: str, value: str) -> str:
    """Opaque to clients, as Slack's are (base64 of `kind:value`)."""
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _decode_cursor(cursor: str | None, expected_kind: str) -> str | None:
    if cursor is None:
        return None
    try:
        kind, _, value = base64.b64decode(cursor, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError("invalid_cursor") from None
    if kind != expected_kind or not value:
        raise ApiError("invalid_cursor")
    if kind == "offset" and not value.isdigit():
        raise ApiError("invalid_cursor")
    return value


METHODS: dict[str, Method] = {
    "auth.test": Method(auth_test),
    "conversations.open": Method(conversations_open, ("im:write",)),
    "conversations.history": Method(conversations_history),
    "conversations.members": Method(conversations_members),
    "users.info": Method(users_info, ("users:read",)),
    "users.list": Method(users_list, ("users:read",)),
}
