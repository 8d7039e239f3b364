"""Report periods as typed, in the workspace's timezone (bot/domain/periods.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.periods import PeriodError, parse_period

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 15 July 2026, 10:30 in London (BST, UTC+1).
NOW = datetime(2026, 7, 15, 9, 30, tzinfo=UTC)
UNTIL_NOW = NOW + timedelta(microseconds=1)  # periods that run to now include it


def local(y: int, m: int, d: int, h: int = 0, tz: ZoneInfo = LONDON) -> datetime:
    return datetime(y, m, d, h, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", local(2026, 7, 15), UNTIL_NOW),
        ("TODAY", local(2026, 7, 15), UNTIL_NOW),
        ("yesterday", local(2026, 7, 14), local(2026, 7, 15)),
        ("7d", UNTIL_NOW - timedelta(days=7), UNTIL_NOW),
        ("30d", UNTIL_NOW - timedelta(days=30), UNTIL_NOW),
        ("this-week", local(2026, 7, 13), UNTIL_NOW),  # Monday
        ("this-month", local(2026, 7, 1), UNTIL_NOW),
        ("last-month", local(2026, 6, 1), local(2026, 7, 1)),
        ("2026-01-01..2026-01-31", local(2026, 1, 1), local(2026, 2, 1)),
        ("2026-07-15..2026-07-15", local(2026, 7, 15), local(2026, 7, 16)),
    ],
)
def test_periods(text: str, start: datetime, end: datetime) -> None:
    period = parse_period(text, NOW, LONDON)
    assert (period.start, period.end) == (start, end)
    assert period.contains(start) and not period.contains(end)


def test_whole_periods_run_to_their_calendar_end() -> None:
    assert parse_period("this-month", NOW, LONDON, whole=True).end == local(2026, 8, 1)
    assert parse_period("this-week", NOW, LONDON, whole=True).end == local(2026, 7, 20)
    assert parse_period("today", NOW, LONDON, whole=True).end == local(2026, 7, 16)
    december = datetime(2026, 12, 20, tzinfo=UTC)
    assert parse_period("this-month", december, LONDON, whole=True).end == local(2027, 1, 1)


def test_days_begin_at_local_midnight_in_the_workspace_timezone() -> None:
    # 02:00 UTC on 15 July is still 14 July, 22:00, in New York.
    early = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)
    today = parse_period("today", early, NEW_YORK)
    assert today.start == local(2026, 7, 14, tz=NEW_YORK)


def test_the_day_clocks_go_forward_is_23_hours_long() -> None:
    monday_after = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    sunday = parse_period("yesterday", monday_after, LONDON)
    assert sunday.seconds == 23 * 3600


def test_last_month_in_january_is_december() -> None:
    january = datetime(2026, 1, 10, 12, tzinfo=UTC)
    period = parse_period("last-month", january, LONDON)
    assert (period.start, period.end) == (local(2025, 12, 1), local(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("lastweek", "is not a period"),
        ("", "is not a period"),
        ("0d", "must be 1 to"),
        ("99999d", "is not a period"),
        ("2026-02-30..2026-03-01", "is not a date"),
        ("2026-03-01..2026-02-01", "first date is after the last"),
        ("2000-01-01..2026-01-01", "at most"),
        ("2026-01-01", "is not a period"),
        ("<!channel>", "is not a period"),
    ],
)
def test_bad_periods_say_why(text: str, says: str) -> None:
    with pytest.raises(PeriodError, match=says):
        parse_period(text, NOW, LONDON)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        parse_period("today", datetime(2026, 1, 1), LONDON)
