"""`/leads queue [QUEUE]`: the queues' rotation as it stands now (managers only).

    /leads queue               every queue
    /leads queue sales         one, by id or name (any case)

For each queue: its channel, exclusivity window and business hours; each rep
as the rotation sees them (available, away since when, outside working hours,
at capacity: open leads against capacity); who the next lead would be offered
to; and how many leads wait unclaimed, with the oldest one's age. Read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.hours import WeeklyHours
from bot.domain.lead import format_duration
from bot.domain.rotation import SkipReason
from bot.lookup import Lookup, MemberStatus, QueueStatus, UnknownQueue
from handlers.cards import SECTION_TEXT_LIMIT, mention, safe_mrkdwn
from handlers.slack_commands import Invocation, Reply, Subcommand

#: Slack's limit on blocks in one message.
MAX_BLOCKS = 50
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _clock_time(t: time, *, end: bool = False) -> str:
    return "24:00" if end and t == time(0) else f"{t:%H:%M}"


def describe_hours(hours: WeeklyHours) -> str:
    """Weekly windows in a few words: `always open`, `Mon–Fri 09:00–17:30; Sat 10:00–14:00`
    (holidays aside)."""
    if hours.is_always:
        return "always open"
    if hours.is_never:
        return "never open"
    groups: list[tuple[list[int], tuple[tuple[time, time], ...]]] = []
    for day, windows in enumerate(hours.windows):
        if not windows:
            continue
        if groups and groups[-1][1] == windows and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], windows))
    parts = []
    for days, windows in groups:
        label = _DAYS[days[0]] if len(days) == 1 else f"{_DAYS[days[0]]}–{_DAYS[days[-1]]}"
        spans = ", ".join(f"{_clock_time(s)}–{_clock_time(e, end=True)}" for s, e in windows)
        parts.append(f"{label} {spans}")
    return "; ".join(parts)


def _moment(at: datetime, tz: ZoneInfo) -> str:
    return f"{at.astimezone(tz):%a %-d %b %H:%M}"


def member_line(member: MemberStatus, tz: ZoneInfo, *, next_up: bool) -> str:
    """`• @rep — away since Mon 5 Jan 09:05 · 2/10 open leads`."""
    reason = member.unavailable
    if reason is SkipReason.AWAY:
        state = ":palm_tree: away"
        if member.away_since is not None:
            state += f" since {_moment(member.away_since, tz)}"
    elif reason is SkipReason.OFF_HOURS:
        state = ":zzz: outside working hours"
        if member.working_again_at is not None:
            state += f" (back {_moment(member.working_again_at, tz)})"
    elif reason is SkipReason.AT_CAPACITY:
        state = ":no_entry_sign: at capacity"
    else:
        state = ":large_green_circle: available"
    load = f"{member.open_leads}/{member.capacity} open leads"
    nxt = " · *next*" if next_up else ""
    return f"• {mention(member.rep_id)} — {state} · {load}{nxt}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _chunks(lines: Iterable[str], limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Lines joined into texts of at most `limit` characters (a long line is cut)."""
    chunks: list[str] = []
    for line in lines:
        line = line[:limit]
        if chunks and len(chunks[-1]) + 1 + len(line) <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks


def queue_blocks(status: QueueStatus, tz: ZoneInfo) -> list[dict[str, Any]]:
    """One queue's blocks: its settings, its members, the next rep and what waits."""
    window = status.exclusivity_seconds
    exclusivity = (
        f"exclusive to the offered rep for {format_duration(timedelta(seconds=window))}"
        if window
        else "no exclusivity window"
    )
    hours = describe_hours(status.hours)
    if not status.hours.is_always:
        hours += f" {status.hours_tz.key}"
        if status.hours.holidays:
            n = len(status.hours.holidays)
            hours += f" ({n} holiday{'' if n == 1 else 's'})"
        hours += f", {'open' if status.open_now else 'closed'} now"
    title = (
        f"*{safe_mrkdwn(status.name, 80)}* (`{status.id}`) · <#{status.channel_id}> · "
        f"{exclusivity} · business hours: {hours}"
    )
    members = [member_line(m, tz, next_up=m.rep_id == status.next_rep_id) for m in status.members]
    if status.next_rep_id is not None:
        next_text = f":arrow_right: The next lead goes to {mention(status.next_rep_id)}."
    else:
        next_text = ":warning: Nobody is available: the next lead opens to the whole channel."
    waiting = status.waiting
    if waiting.count and waiting.oldest_at is not None:
        age = format_duration(status.as_of - waiting.oldest_at)
        waiting_text = (
            f":hourglass: {waiting.count} unclaimed lead{'' if waiting.count == 1 else 's'} "
            f"waiting; the oldest for {age}."
        )
    else:
        waiting_text = ":white_check_mark: No unclaimed leads waiting."
    return [
        _section(title[:SECTION_TEXT_LIMIT]),
        *(_section(text) for text in _chunks(members or ["_No reps in this queue._"])),
        _context(f"{next_text}  {waiting_text}"),
    ]


def queue_reply(statuses: list[QueueStatus], tz: ZoneInfo) -> Reply:
    blocks: list[dict[str, Any]] = []
    for i, status in enumerate(statuses):
        more = queue_blocks(status, tz)
        if len(blocks) + len(more) + (1 if i else 0) > MAX_BLOCKS - 1:
            blocks.append(_context("…more queues: name one, like `/leads queue sales`."))
            break
        if i:
            blocks.append({"type": "divider"})
        blocks += more
    names = ", ".join(s.id for s in statuses)
    return Reply(f"Queues: {names}", blocks)


def unknown_queue(name: str, known: list[tuple[str, str]]) -> str:
    listed = ", ".join(f"`{qid}` ({safe_mrkdwn(qname, 80)})" for qid, qname in known)
    return f"There is no queue `{safe_mrkdwn(name, 80)}`. Queues: {listed}."


def queue_commands(lookup: Lookup, tz: ZoneInfo) -> dict[str, Subcommand]:
    async def run(call: Invocation) -> str | Reply:
        name = " ".join(call.args) or None
        try:
            statuses = await lookup.queues(name)
        except UnknownQueue as exc:
            return unknown_queue(name or "", exc.known)
        return queue_reply(statuses, tz)

    usage = (
        "`/leads queue [QUEUE]` — each queue's reps (available, away, off hours, at capacity), "
        "who gets the next lead and what waits"
    )
    return {"queue": Subcommand(run, usage, managers_only=True)}
