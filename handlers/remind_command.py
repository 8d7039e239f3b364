"""`/leads remind LEAD WHEN [note]`: a follow-up reminder DM'd to the lead's owner when due."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.reminders import Reminders
from handlers.cards import escape_mrkdwn, slack_time
from handlers.slack_commands import Invocation, Subcommand

USAGE = (
    "Usage: `/leads remind LEAD WHEN [note]`, e.g. `/leads remind 42 2h call back` or "
    "`/leads remind #42 2026-12-01 14:00 send the quote`. WHEN: `30m`, `2h`, `3d`, "
    "`tomorrow [HH:MM]` or a date `YYYY-MM-DD [HH:MM]`"
)


def remind_commands(reminders: Reminders, tz: ZoneInfo) -> dict[str, Subcommand]:
    async def run(call: Invocation) -> str:
        if len(call.args) < 2:
            return USAGE
        try:
            lead_id = int(call.args[0].lstrip("#"))
        except ValueError:
            return f"`{escape_mrkdwn(call.args[0][:20])}` is not a lead number. {USAGE}"
        result = await reminders.remind(lead_id, call.user_id, list(call.args[1:]))
        if result.refusal or result.due_at is None:
            return f"Can't set that reminder: {escape_mrkdwn(result.refusal or '')}. {USAGE}"
        return (
            f":alarm_clock: I'll remind the owner of lead #{lead_id} on "
            f"{slack_time(result.due_at, '%Y-%m-%d %H:%M UTC')}."
        )

    usage = "`/leads remind LEAD WHEN [note]` — a follow-up reminder to the lead's owner"
    return {"remind": Subcommand(run, usage)}
