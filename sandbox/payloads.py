"""Inbound payloads shaped as Slack sends them (contract §2). Pure builders.

Text in events is in Slack's escaped wire form: `&`, `<`, `>` become
entities and `@name` becomes `<@U…>`, as Slack's own client does.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from sandbox.models import Channel, Message, User
from sandbox.workspace import BotIdentity

_MENTION = re.compile(r"(?<![\w<])@([A-Za-z0-9._-]+)")
_WIRE_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")


def escape_text(text: str) -> str:
    """Slack escapes exactly these three characters, `&` first."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_wire_text(text: str, users_by_name: dict[str, str]) -> str:
    """What Slack's client sends for typed text: escaped, `@name` turned into `<@U…>`."""

    def mention(match: re.Match[str]) -> str:
        user_id = users_by_name.get(match.group(1).lower())
        return f"<@{user_id}>" if user_id else match.group(0)

    return _MENTION.sub(mention, escape_text(text))


def mentioned_users(wire_text: str) -> list[str]:
    return _WIRE_MENTION.findall(wire_text)


def rich_text_blocks(wire_text: str, block_id: str) -> list[dict[str, Any]]:
    """The rich_text block Slack attaches to typed messages (raw text, mentions split out)."""
    elements: list[dict[str, Any]] = []
    for i, part in enumerate(_WIRE_MENTION.split(wire_text)):
        if i % 2:
            elements.append({"type": "user", "user_id": part})
        elif part:
            raw = part.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            elements.append({"type": "text", "text": raw})
    return [
        {
            "type": "rich_text",
            "block_id": block_id,
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def channel_name(channel: Channel) -> str:
    """The name Slack reports in payloads; DMs are "directmessage"."""
    return "directmessage" if channel.is_im else channel.name


def find_button(message: Message, label: str) -> tuple[str, dict[str, Any]]:
    """(block_id, button) for the button whose visible text is `label`."""
    buttons: list[tuple[str, dict[str, Any]]] = []
    for block in message.blocks or []:
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        buttons += [
            (str(block.get("block_id", "")), e)
            for e in candidates
            if isinstance(e, dict) and e.get("type") == "button"
        ]
    # An exact match wins; otherwise ignore case and surrounding blanks.
    for exact in (True, False):
        for block_id, button in buttons:
            shown = str(button.get("text", {}).get("text", ""))
            if shown == label or (not exact and shown.strip().casefold() == label.casefold()):
                return block_id, button
    seen = [b.get("text", {}).get("text") for _, b in buttons]
    raise LookupError(f"no button labelled {label!r} in message {message.ts}; buttons: {seen}")


def block_actions(
    *,
    bot: BotIdentity,
    token: str,
    user: User,
    channel: Channel,
    message: Message,
    block_id: str,
    button: dict[str, Any],
    response_url: str,
    trigger_id: str,
    action_ts: str,
) -> dict[str, Any]:
    """A `block_actions` payload for one button click."""
    action: dict[str, Any] = {
        "type": "button",
        "action_id": button.get("action_id"),
        "block_id": block_id,
        "text": {"type": "plain_text", "emoji": True, **button.get("text", {})},
        "action_ts": action_ts,
    }
    for key in ("value", "style", "url"):
        if key in button:
            action[key] = button[key]
    is_ephemeral = message.ephemeral_for is not None
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": bot.team_id},
        "api_app_id": bot.app_id,
        "token": token,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel.id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id,
        "team": {"id": bot.team_id, "domain": bot.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel_name(channel)},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not is_ephemeral:
        # Metadata is left out: whether Slack includes it in payloads is unverified.
        payload["message"] = {**message.to_api(include_metadata=False), "team": bot.team_id}
    return payload


def slash_command_form(
    *,
    bot: BotIdentity,
    token: str,
    user: User,
    channel: Channel,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> str:
    """The bare form string Slack posts for a slash command."""
    return urllib.parse.urlencode(
        {
            "token": token,
            "team_id": bot.team_id,
            "team_domain": bot.team_domain,
            "channel_id": channel.id,
            "channel_name": channel_name(channel),
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": bot.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def event_envelope(
    *, bot: BotIdentity, token: str, event: dict[str, Any], event_id: str, event_time: int
) -> dict[str, Any]:
    """The Events API `event_callback` wrapper."""
    return {
        "token": token,
        "team_id": bot.team_id,
        "enterprise_id": None,
        "api_app_id": bot.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": bot.team_id,
                "user_id": bot.user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-sandbox-{event_id}",
    }


def message_event(
    message: Message,
    channel: Channel,
    bot: BotIdentity,
    parent_user_id: str | None,
    client_msg_id: str | None,
) -> dict[str, Any]:
    """A `message` event: a human's (no bot_id) or the bot's own echo (bot_id + user)."""
    event = {
        **message.to_api(include_metadata=False),
        "channel": channel.id,
        "event_ts": message.ts,
        "channel_type": channel.channel_type,
        "team": bot.team_id,
    }
    if message.bot_id is not None:
        event["bot_profile"] = {
            "id": bot.bot_id,
            "app_id": bot.app_id,
            "name": bot.name,
            "deleted": False,
            "team_id": bot.team_id,
        }
    if client_msg_id is not None:
        event["client_msg_id"] = client_msg_id
    if message.is_reply:
        event["parent_user_id"] = parent_user_id
    return event


def app_mention_event(message_event_: dict[str, Any]) -> dict[str, Any]:
    """The `app_mention` twin of a human message event that mentions the bot."""
    keys = (
        "user",
        "text",
        "ts",
        "channel",
        "event_ts",
        "team",
        "client_msg_id",
        "blocks",
        "thread_ts",
    )
    return {"type": "app_mention", **{k: message_event_[k] for k in keys if k in message_event_}}


def view_submission(
    *, bot: BotIdentity, token: str, user: User, view: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    """A `view_submission` payload; `view.state.values` holds what the person entered."""
    return {
        "type": "view_submission",
        "team": {"id": bot.team_id, "domain": bot.team_domain},
        "user": _payload_user(user, bot),
        "api_app_id": bot.app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }


def view_closed(
    *, bot: BotIdentity, token: str, user: User, view: dict[str, Any], is_cleared: bool
) -> dict[str, Any]:
    """A `view_closed` payload, sent only for views opened with `notify_on_close`."""
    return {
        "type": "view_closed",
        "team": {"id": bot.team_id, "domain": bot.team_domain},
        "user": _payload_user(user, bot),
        "api_app_id": bot.app_id,
        "token": token,
        "view": view,
        "is_cleared": is_cleared,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def _payload_user(user: User, bot: BotIdentity) -> dict[str, str]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": bot.team_id}
