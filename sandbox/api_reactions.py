"""`reactions.add`, `reactions.remove` and `reactions.get` on stored messages.

Reactions are made by the bot user (the only token the sandbox knows). They
are stored on the message and shown the way Slack lists them,
`reactions: [{name, users, count}]`; adding one is not an edit.

Choices where Slack's behaviour is not pinned down by the sources:
- any name matching `^[a-z0-9_+'-]+$` (optionally with a `::skin-tone-N`
  suffix) is accepted: the sandbox has no emoji list, so an unknown but
  well-formed name is not `invalid_name` here as it may be in Slack;
- the two caps Slack's method page names, with the sandbox's own numbers
  (Slack's are unverified): one user may put at most 23 reactions on a
  message (`too_many_reactions`), and a message holds at most 50 distinct
  emoji (`too_many_emoji`);
- no `channel` or `timestamp` gives `no_item_specified` (files and file
  comments, the other deprecated targets, are not emulated);
- `reactions.get` never truncates user lists, so `full` changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.api_common import ApiContext, ApiError, Args, Method
from sandbox.models import Channel, Message, Reaction

MAX_REACTIONS_PER_USER = 23
MAX_DISTINCT_EMOJI = 50
_NAME = re.compile(r"^[a-z0-9_+'-]+(::skin-tone-[2-6])?$")


def add(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel, message = _target(ctx, args)
    if channel.is_archived:
        raise ApiError("is_archived")
    name = _name(args)
    user = ctx.workspace.bot.user_id
    reactions = list(message.reactions)
    index = _index(reactions, name)
    if index is not None and user in reactions[index].users:
        raise ApiError("already_reacted")
    if sum(user in r.users for r in reactions) >= MAX_REACTIONS_PER_USER:
        raise ApiError("too_many_reactions")
    if index is None:
        if len(reactions) >= MAX_DISTINCT_EMOJI:
            raise ApiError("too_many_emoji")
        reactions.append(Reaction(name, (user,)))
    else:
        reactions[index] = Reaction(name, (*reactions[index].users, user))
    ctx.workspace.replace(channel.id, message.ts, reactions=tuple(reactions))
    return {}


def remove(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel, message = _target(ctx, args)
    if channel.is_archived:
        raise ApiError("is_archived")
    name = _name(args)
    user = ctx.workspace.bot.user_id
    reactions = list(message.reactions)
    index = _index(reactions, name)
    if index is None or user not in reactions[index].users:
        raise ApiError("no_reaction")
    users = tuple(u for u in reactions[index].users if u != user)
    if users:
        reactions[index] = Reaction(name, users)
    else:
        del reactions[index]
    ctx.workspace.replace(channel.id, message.ts, reactions=tuple(reactions))
    return {}


def get(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel, message = _target(ctx, args)
    return {"type": "message", "channel": channel.id, "message": message.to_api()}


def _target(ctx: ApiContext, args: Args) -> tuple[Channel, Message]:
    """The channel and stored message the reaction is about."""
    channel_id, ts = args.string("channel"), args.string("timestamp")
    if channel_id is None or ts is None:
        raise ApiError("no_item_specified")
    channel = ctx.channel(channel_id)
    message = ctx.workspace.get_message(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    return channel, message


def _name(args: Args) -> str:
    """The emoji name with surrounding colons stripped, as Slack accepts `:tada:`."""
    name = (args.string("name") or "").strip().strip(":")
    if not _NAME.match(name):
        raise ApiError("invalid_name")
    return name


def _index(reactions: list[Reaction], name: str) -> int | None:
    return next((i for i, r in enumerate(reactions) if r.name == name), None)


METHODS: dict[str, Method] = {
    "reactions.add": Method(add, ("reactions:write",)),
    "reactions.remove": Method(remove, ("reactions:write",)),
    "reactions.get": Method(get, ("reactions:read",)),
}
