"""The `/leads` slash command: a table of subcommands; unknown ones get usage, never a trace.

Each subcommand is an async function of the caller and their words that returns
what to show them, ephemerally: text, or a `Reply` with Block Kit. Capabilities
add theirs in the composition root (`bot/app.py`) with one help line each.

A subcommand marked `managers_only` is refused to anyone not in the configured
managers, before it runs. One marked `slow` (reports, exports) is acknowledged
at once and answered through the command's `response_url`, so Slack's
3-second limit never depends on how long the answer takes. Raising `UsageError`
anywhere answers with its message; any other exception answers with a short
apology (its type is logged), never a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.cards import escape_mrkdwn

log = logging.getLogger(__name__)

#: Slack's limit on one message's text; a reply is cut to fit rather than refused.
TEXT_LIMIT = 3000


class UsageError(ValueError):
    """Bad arguments: the message is shown to the person as it is (keep it short)."""


@dataclass(frozen=True)
class Reply:
    """An answer with Block Kit; `text` is the notification and fallback text."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Invocation:
    """Who ran `/leads`, where, and the words after the subcommand."""

    user_id: str
    channel_id: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Subcommand:
    run: Callable[[Invocation], Awaitable[str | Reply]]
    usage: str  # e.g. "`/leads away` — stop being offered new leads"
    managers_only: bool = False
    slow: bool = False  # acknowledged at once, answered through response_url


#: Sets a Slack user away (True) or back (False): their previous state, None if not a rep.
SetAway = Callable[[str, bool], Awaitable[bool | None]]


def away_reply(was: bool | None, away: bool) -> str:
    """What `/leads away` or `/leads back` tells the rep."""
    if was is None:
        return "You're not a rep in any leadbot queue, so there is nothing to change."
    if away:
        already = "You were already away. " if was else ""
        return (
            f"{already}:palm_tree: You're away: no new leads will be offered to you. "
            "Type `/leads back` when you return."
        )
    already = "You weren't away. " if not was else ""
    return f"{already}:wave: Welcome back: you're in the rotation again."


def away_commands(set_away: SetAway) -> dict[str, Subcommand]:
    def toggle(sub: str) -> Callable[[Invocation], Awaitable[str]]:
        async def run(call: Invocation) -> str:
            if call.args:
                return f"Usage: `/leads {sub}` (no arguments)."
            away = sub == "away"
            return away_reply(await set_away(call.user_id, away), away)

        return run

    return {
        "away": Subcommand(
            toggle("away"), "`/leads away` — stop being offered new leads (for example on holiday)"
        ),
        "back": Subcommand(toggle("back"), "`/leads back` — be offered leads again"),
    }


def help_text(commands: Mapping[str, Subcommand]) -> str:
    def line(sub: Subcommand) -> str:
        return f"• {sub.usage}" + (" _(managers)_" if sub.managers_only else "")

    return "\n".join(
        [
            "*leadbot* — `/leads` commands:",
            "• `/leads help` — this list",
            *(line(sub) for sub in commands.values()),
            "Periods: `today`, `yesterday`, `7d`, `30d`, `this-week`, `this-month`, "
            "`last-month` or `2026-01-01..2026-01-31`.",
            "Claim a lead with the *Claim* button on its card in the queue channel; "
            "then mark it *Contacted*, *Qualified*, *Won*, *Lost*, *Nurture* or *Release* it.",
        ]
    )


def refusal(name: str) -> str:
    return f":no_entry: `/leads {name}` is for managers only."


APOLOGY = ":warning: Sorry, that failed on our side; it has been logged. Please try again."


def _message(reply: str | Reply) -> dict[str, Any]:
    if isinstance(reply, Reply):
        message: dict[str, Any] = {"text": reply.text[:TEXT_LIMIT]}
        if reply.blocks:
            message["blocks"] = reply.blocks
        return message
    return {"text": reply[:TEXT_LIMIT]}


async def answer(sub: Subcommand, call: Invocation, name: str) -> dict[str, Any]:
    """Run one subcommand; its reply as a message body, never an exception."""
    try:
        return _message(await sub.run(call))
    except UsageError as exc:
        return {"text": str(exc)[:TEXT_LIMIT]}
    except Exception as exc:
        # The type only by default: a database error's text can carry the statement's
        # parameters, e.g. the email a manager asked to forget (SPEC §10: no contact details).
        log.error("/leads %s failed: %s", name, type(exc).__name__)
        log.debug("/leads failure", exc_info=True)
        return {"text": APOLOGY}


def register(
    app: AsyncApp, commands: Mapping[str, Subcommand], managers: Collection[str] = ()
) -> None:
    help_answer = help_text(commands)
    manager_ids = frozenset(managers)

    async def on_leads(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        name = words[0].lower() if words else "help"
        if name == "help":
            await ack(help_answer)
            return
        sub = commands.get(name)
        if sub is None:
            await ack(f"Unknown subcommand `{escape_mrkdwn(words[0][:40])}`. Try `/leads help`.")
            return
        call = Invocation(
            str(command.get("user_id") or ""),
            str(command.get("channel_id") or ""),
            tuple(words[1:]),
        )
        if sub.managers_only and call.user_id not in manager_ids:
            await ack(refusal(name))
            return
        if not sub.slow:
            await ack(**await answer(sub, call, name))
            return
        await ack()
        await respond(response_type="ephemeral", **await answer(sub, call, name))

    app.command("/leads")(on_leads)
