"""The `/leads` slash command. Subcommands grow here; unknown ones get usage, never a trace."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.cards import escape_mrkdwn

HELP_TEXT = "\n".join(
    [
        "*leadbot* — `/leads` commands:",
        "• `/leads help` — this list",
        "Claim a lead with the *Claim* button on its card in the queue channel.",
    ]
)


def register(app: AsyncApp) -> None:
    async def on_leads(ack: Any, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        if not words or words[0].lower() == "help":
            await ack(HELP_TEXT)
            return
        await ack(f"Unknown subcommand `{escape_mrkdwn(words[0][:40])}`. Try `/leads help`.")

    app.command("/leads")(on_leads)
