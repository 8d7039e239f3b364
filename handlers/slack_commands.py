"""The `/leads` slash command. Subcommands grow here; unknown ones get usage, never a trace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.cards import escape_mrkdwn

HELP_TEXT = "\n".join(
    [
        "*leadbot* — `/leads` commands:",
        "• `/leads help` — this list",
        "• `/leads away` — stop being offered new leads (for example on holiday)",
        "• `/leads back` — be offered leads again",
        "Claim a lead with the *Claim* button on its card in the queue channel; "
        "then mark it *Contacted*, *Qualified*, *Won*, *Lost*, *Nurture* or *Release* it.",
    ]
)

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


def register(app: AsyncApp, set_away: SetAway) -> None:
    async def on_leads(ack: Any, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        user = str(command.get("user_id") or "")
        if sub == "help":
            await ack(HELP_TEXT)
        elif sub in ("away", "back"):
            if len(words) > 1:
                await ack(f"Usage: `/leads {sub}` (no arguments).")
                return
            away = sub == "away"
            await ack(away_reply(await set_away(user, away), away))
        else:
            await ack(f"Unknown subcommand `{escape_mrkdwn(words[0][:40])}`. Try `/leads help`.")

    app.command("/leads")(on_leads)
