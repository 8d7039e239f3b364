"""The `/leads` slash command: a table of subcommands; unknown ones get usage, never a trace.

Each subcommand is an async function of the caller and their words that returns
the text to show them (ephemerally, as the command's answer). Capabilities add
theirs in the composition root (`bot/app.py`) with one help line each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.cards import escape_mrkdwn


@dataclass(frozen=True)
class Invocation:
    """Who ran `/leads`, where, and the words after the subcommand."""

    user_id: str
    channel_id: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Subcommand:
    run: Callable[[Invocation], Awaitable[str]]
    usage: str  # e.g. "`/leads away` — stop being offered new leads"


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
    return "\n".join(
        [
            "*leadbot* — `/leads` commands:",
            "• `/leads help` — this list",
            *(f"• {sub.usage}" for sub in commands.values()),
            "Claim a lead with the *Claim* button on its card in the queue channel; "
            "then mark it *Contacted*, *Qualified*, *Won*, *Lost*, *Nurture* or *Release* it.",
        ]
    )


def register(app: AsyncApp, commands: Mapping[str, Subcommand]) -> None:
    help_answer = help_text(commands)

    async def on_leads(ack: Any, command: dict[str, Any]) -> None:
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
        await ack(await sub.run(call))

    app.command("/leads")(on_leads)
