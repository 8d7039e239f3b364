"""Report periods as managers type them (`today`, `7d`, `2026-01-01..2026-01-31`). Pure.

A period is a half-open interval [start, end) of instants, read in the
workspace's timezone: days begin at local midnight, so `yesterday` is 23 or 25
hours long on the days clocks change. `Nd` is the rolling N×24 hours ending
now. Periods that run to "now" (`today`, `this-week`, `this-month`, `Nd`)
include now (their end is one microsecond after it); whole past days end at
the next local midnight. Explicit dates are
inclusive of both days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["MAX_DAYS", "PERIOD_HELP", "Period", "PeriodError", "parse_period"]

#: The longest period a report reads (about ten years); longer is almost surely a typo.
MAX_DAYS = 3660
#: What a person may type, for usage lines.
PERIOD_HELP = (
    "`today`, `yesterday`, `7d`, `30d`, `this-week`, `this-month`, `last-month` "
    "or `YYYY-MM-DD..YYYY-MM-DD`"
)

_DAYS = re.compile(r"([0-9]{1,4})d")
_RANGE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2}-[0-9]{2})")


class PeriodError(ValueError):
    """The text is not a period; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str  # as shown in a report's header, e.g. "30d" or "2026-01-01 → 2026-01-31"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's instants must be timezone-aware")
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight as a UTC instant (aware arithmetic within one zone is wall-clock)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"`{text}` is not a date (use YYYY-MM-DD).") from None


#: Periods that run to now include now: their end is just after it.
INSTANT = timedelta(microseconds=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def parse_period(text: str, now: datetime, tz: ZoneInfo, *, whole: bool = False) -> Period:
    """The period `text` names, as of `now` (aware) in the workspace timezone `tz`.

    With `whole`, `today`, `this-week` and `this-month` run to their calendar end
    rather than to now (a cost set for this month covers the whole month).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    until_now = now + INSTANT
    word = text.strip().lower()
    today = now.astimezone(tz).date()
    if word == "today":
        end = _midnight(today + timedelta(days=1), tz) if whole else until_now
        return Period(_midnight(today, tz), end, f"today ({today.isoformat()})")
    if word == "yesterday":
        day = today - timedelta(days=1)
        return Period(_midnight(day, tz), _midnight(today, tz), f"yesterday ({day.isoformat()})")
    if word == "this-week":
        monday = today - timedelta(days=today.weekday())
        end = _midnight(monday + timedelta(days=7), tz) if whole else until_now
        return Period(_midnight(monday, tz), end, f"this week (from {monday.isoformat()})")
    if word == "this-month":
        first = _month_start(today)
        end = _midnight(_next_month(first), tz) if whole else until_now
        return Period(_midnight(first, tz), end, f"this month ({first:%B %Y})")
    if word == "last-month":
        first_this = _month_start(today)
        first_last = _month_start(first_this - timedelta(days=1))
        return Period(
            _midnight(first_last, tz), _midnight(first_this, tz), f"last month ({first_last:%B %Y})"
        )
    days = _DAYS.fullmatch(word)
    if days:
        count = int(days.group(1))
        if not 1 <= count <= MAX_DAYS:
            raise PeriodError(f"`{text}`: the number of days must be 1 to {MAX_DAYS}.")
        return Period(until_now - timedelta(days=count), until_now, f"last {count} days")
    span = _RANGE.fullmatch(word)
    if span:
        first, last = _parse_day(span.group(1)), _parse_day(span.group(2))
        if last < first:
            raise PeriodError(f"`{text}`: the first date is after the last.")
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodError(f"`{text}`: a period can be at most {MAX_DAYS} days.")
        label = f"{first.isoformat()} → {last.isoformat()}"
        return Period(_midnight(first, tz), _midnight(last + timedelta(days=1), tz), label)
    raise PeriodError(f"`{text[:40]}` is not a period. Use {PERIOD_HELP}.")
