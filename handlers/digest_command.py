"""`/leads digest …`: schedule, list and stop recurring digests (managers only).

    /leads digest daily 09:00 [#channel|here]
    /leads digest weekly mon 09:00 [#channel|here]
    /leads digest list
    /leads digest stop ID

Times are on the hour, in the workspace's timezone. The channel is a mention as
Slack sends it in a command's text (`<#C0123|sales>`), a channel id, or `here`
(the default): the channel the command was run in.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.digests import Digests, NotAManager, ScheduledDigest
from bot.domain.digest import Cadence, parse_clock_time, parse_weekday
from handlers.slack_commands import Invocation, Subcommand

USAGE = (
    "Usage: `/leads digest daily 09:00 [#channel]`, `/leads digest weekly mon 09:00 [#channel]`, "
    "`/leads digest list` or `/leads digest stop ID` (times on the hour; "
    "without a channel, this one)."
)
REFUSAL = ":no_entry: Only managers can schedule digests."
_ID = re.compile(r"#?([0-9]{1,9})")  # small enough for any database's integer
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$|^([CG][A-Z0-9]{2,})$")


def channel_of(word: str | None, here: str) -> str | None:
    """The channel a word names (`<#C0123|name>`, `C0123`, `here`, or none: `here`)."""
    if word is None or word.lower() == "here":
        return here or None
    found = _CHANNEL.match(word)
    return (found.group(1) or found.group(2)) if found else None


def _moment(at: datetime, digests: Digests) -> str:
    return at.astimezone(digests.tz).strftime("%a %-d %b %H:%M")


def _line(digest: ScheduledDigest, digests: Digests) -> str:
    return (
        f"#{digest.id} · {digest.schedule.describe()} → <#{digest.channel_id}> · "
        f"next {_moment(digest.next_run_at, digests)} · by <@{digest.created_by}>"
    )


def digest_commands(digests: Digests) -> dict[str, Subcommand]:
    async def schedule(call: Invocation, cadence: Cadence, words: list[str]) -> str:
        weekday = None
        if cadence is Cadence.WEEKLY:
            if not words:
                return USAGE
            weekday = parse_weekday(words.pop(0))
            if weekday is None:
                return f"Unknown weekday: use mon, tue, wed, thu, fri, sat or sun. {USAGE}"
        if not words or len(words) > 2:
            return USAGE
        hour = parse_clock_time(words[0])
        if hour is None:
            return f"Can't read that time: use a full hour like `09:00` or `17:00`. {USAGE}"
        channel = channel_of(words[1] if len(words) > 1 else None, call.channel_id)
        if channel is None:
            return f"Name the channel as a mention, like #sales, or say `here`. {USAGE}"
        digest = await digests.schedule(
            call.user_id, channel_id=channel, cadence=cadence, hour=hour, weekday=weekday
        )
        return (
            f":calendar: Digest #{digest.id} scheduled: {digest.schedule.describe()} "
            f"({digests.tz.key}) in <#{channel}>. "
            f"First one {_moment(digest.next_run_at, digests)}. "
            f"Stop it with `/leads digest stop {digest.id}`."
        )

    async def listing(call: Invocation) -> str:
        active = await digests.active(call.user_id)
        if not active:
            return "No digests are scheduled. " + USAGE
        return "\n".join(["*Scheduled digests:*", *(_line(d, digests) for d in active)])

    async def stop(call: Invocation, words: list[str]) -> str:
        number = _ID.fullmatch(words[0]) if len(words) == 1 else None
        if number is None:
            return USAGE
        digest_id = int(number.group(1))
        stopped = await digests.stop(call.user_id, digest_id)
        if stopped is None:
            return f"There is no active digest #{digest_id}. `/leads digest list` shows them."
        where = f"{stopped.schedule.describe()} in <#{stopped.channel_id}>"
        return f"Stopped digest #{stopped.id} ({where})."

    async def run(call: Invocation) -> str:
        if not digests.is_manager(call.user_id):
            return REFUSAL
        words = list(call.args)
        verb = words.pop(0).lower() if words else ""
        try:
            if verb in (Cadence.DAILY, Cadence.WEEKLY):
                return await schedule(call, Cadence(verb), words)
            if verb == "list" and not words:
                return await listing(call)
            if verb == "stop":
                return await stop(call, words)
        except NotAManager:
            return REFUSAL
        return USAGE

    usage = (
        "`/leads digest daily 09:00 [#channel]` · `weekly mon 09:00 [#channel]` · `list` · "
        "`stop ID` — a recurring summary posted to a channel (managers)"
    )
    return {"digest": Subcommand(run, usage)}
