"""Digests: the next run across days, weekdays and daylight-saving changes; parsing the
time and weekday; counting a period's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.digest import (
    Cadence,
    DigestCounts,
    DigestSchedule,
    count_events,
    next_run,
    parse_clock_time,
    parse_weekday,
    period_start,
)

LONDON = ZoneInfo("Europe/London")  # 2025: forward 30 March 01:00 UTC, back 26 October
NEW_YORK = ZoneInfo("America/New_York")  # 2025: forward 9 March, back 2 November
MON, TUE, SUN = 0, 1, 6


def utc(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


def daily(hour: int, tz: ZoneInfo = LONDON) -> DigestSchedule:
    return DigestSchedule(Cadence.DAILY, hour, tz)


def weekly(weekday: int, hour: int, tz: ZoneInfo = LONDON) -> DigestSchedule:
    return DigestSchedule(Cadence.WEEKLY, hour, tz, weekday)


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # daily, winter (London = UTC): later today, or tomorrow once the hour has come
        (daily(9), utc(1, 6, 8, 59, 59), utc(1, 6, 9)),
        (daily(9), utc(1, 6, 9), utc(1, 7, 9)),  # strictly after: not the run being sent
        (daily(9), utc(1, 6, 9, 0, 1), utc(1, 7, 9)),
        (daily(0), utc(1, 6, 23, 30), utc(1, 7, 0)),
        (daily(23), utc(12, 31, 23, 30), datetime(2026, 1, 1, 23, tzinfo=UTC)),
        # summer (BST = UTC+1): 09:00 on the clock is 08:00 UTC
        (daily(9), utc(7, 1, 7, 30), utc(7, 1, 8)),
        (daily(9), utc(7, 1, 8), utc(7, 2, 8)),
        # across the spring change: Saturday 09:00 GMT, then Sunday 09:00 BST
        (daily(9), utc(3, 29, 9), utc(3, 30, 8)),
        # across the autumn change: Saturday 09:00 BST, then Sunday 09:00 GMT
        (daily(9), utc(10, 25, 8), utc(10, 26, 9)),
        # the hour skipped in spring (01:00 London) is read before the change: 02:00 BST
        (daily(1), utc(3, 29, 12), utc(3, 30, 1)),
        # the hour that happens twice in autumn (01:00 London) runs at its first occurrence
        (daily(1), utc(10, 25, 12), utc(10, 26, 0)),
        (daily(1), utc(10, 26, 0), utc(10, 27, 1)),  # and not again an hour later
        # New York: 09:00 EST is 14:00 UTC; 09:00 EDT is 13:00 UTC
        (daily(9, NEW_YORK), utc(3, 8, 14), utc(3, 9, 13)),
        (daily(9, NEW_YORK), utc(11, 1, 13), utc(11, 2, 14)),
        # the local date, not the UTC date, decides "today": 22:00 New York is 03:00 UTC
        (daily(22, NEW_YORK), utc(1, 7, 2), utc(1, 7, 3)),
        # weekly: 6 January 2025 is a Monday
        (weekly(MON, 9), utc(1, 6, 8), utc(1, 6, 9)),
        (weekly(MON, 9), utc(1, 6, 9), utc(1, 13, 9)),
        (weekly(TUE, 9), utc(1, 6, 9), utc(1, 7, 9)),
        (weekly(SUN, 9), utc(1, 6, 9), utc(1, 12, 9)),
        (weekly(MON, 9), utc(1, 12, 23, 59), utc(1, 13, 9)),
        # a week across the spring change is 167 hours long
        (weekly(MON, 9), utc(3, 24, 9), utc(3, 31, 8)),
        # a week across the autumn change is 169 hours long
        (weekly(MON, 9), utc(10, 20, 8), utc(10, 27, 9)),
        # Monday in New York begins 5 hours after Monday in UTC
        (weekly(MON, 0, NEW_YORK), utc(1, 6, 3), utc(1, 6, 5)),
        (weekly(MON, 0, NEW_YORK), utc(1, 6, 5), utc(1, 13, 5)),
    ],
)
def test_next_run(schedule: DigestSchedule, after: datetime, expected: datetime) -> None:
    assert next_run(schedule, after) == expected


def test_next_run_accepts_any_aware_datetime_and_answers_in_utc() -> None:
    at = next_run(daily(9), datetime(2025, 7, 1, 9, 30, tzinfo=LONDON))
    assert at == utc(7, 2, 8)
    assert at.tzinfo is UTC


def test_a_digest_down_for_days_skips_to_the_next_future_run() -> None:
    # due Monday 09:00, noticed Thursday 10:30: the next run is Friday, not Tuesday
    assert next_run(daily(9), utc(1, 9, 10, 30)) == utc(1, 10, 9)
    assert next_run(weekly(MON, 9), utc(1, 29, 10, 30)) == utc(2, 3, 9)


def test_runs_one_after_another_are_a_day_or_a_week_apart_on_the_clock() -> None:
    at, runs = utc(3, 20), []
    for _ in range(14):
        at = next_run(daily(9), at)
        runs.append(at)
    assert {r.astimezone(LONDON).hour for r in runs} == {9}
    assert [r.astimezone(LONDON).date() for r in runs] == [
        runs[0].astimezone(LONDON).date() + timedelta(days=i) for i in range(14)
    ]


def test_period_starts_at_the_last_run_or_one_period_back() -> None:
    now = utc(1, 7, 9)
    assert period_start(daily(9), utc(1, 3, 9), now) == utc(1, 3, 9)
    assert period_start(daily(9), None, now) == utc(1, 6, 9)
    assert period_start(weekly(MON, 9), None, now) == datetime(2024, 12, 31, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cadence", "hour", "weekday"),
    [
        (Cadence.DAILY, 24, None),
        (Cadence.DAILY, -1, None),
        (Cadence.DAILY, 9, MON),
        (Cadence.WEEKLY, 9, None),
        (Cadence.WEEKLY, 9, 7),
    ],
)
def test_impossible_schedules_are_refused(cadence: Cadence, hour: int, weekday: int | None) -> None:
    with pytest.raises(ValueError):
        DigestSchedule(cadence, hour, LONDON, weekday)


def test_describe() -> None:
    assert daily(9).describe() == "every day at 09:00"
    assert weekly(MON, 17).describe() == "every Monday at 17:00"


@pytest.mark.parametrize(
    ("text", "hour"),
    [
        ("09:00", 9),
        ("9:00", 9),
        ("00:00", 0),
        ("23:00", 23),
        ("25:00", None),
        ("24:00", None),
        ("09:30", None),  # digests run on the hour
        ("9", None),
        ("09", None),
        ("9am", None),
        ("-1:00", None),
        ("123:00", None),
        ("", None),
        ("ab:00", None),
    ],
)
def test_parse_clock_time(text: str, hour: int | None) -> None:
    assert parse_clock_time(text) == hour


@pytest.mark.parametrize(
    ("text", "weekday"),
    [("mon", 0), ("Mon", 0), ("MONDAY", 0), ("sun", 6), ("Friday", 4), ("mo", None), ("x", None)],
)
def test_parse_weekday(text: str, weekday: int | None) -> None:
    assert parse_weekday(text) == weekday


def test_counts_follow_their_definitions() -> None:
    counts = count_events(
        [
            ("captured", "new", 5),
            ("captured", "nurture", 2),
            ("routed", "new", 1),
            ("nurture", "nurture", 1),
            ("claimed", "claimed", 4),
            ("first_contact", None, 3),
            ("sla_met", None, 2),
            ("sla_missed", None, 1),
            ("sla_contact_late", None, 1),
            ("won", "won", 1),
            ("lost", "lost", 2),
            ("offered", "offered", 9),  # not counted
            ("sla_step", None, 7),  # not counted
        ]
    )
    assert counts == DigestCounts(
        captured=7,
        posted=6,
        nurtured=3,
        claimed=4,
        first_contacts=3,
        sla_met=2,
        sla_missed=1,
        contacted_late=1,
        won=1,
        lost=2,
    )


def test_counts_round_trip_through_a_payload() -> None:
    counts = DigestCounts(captured=3, won=1)
    assert DigestCounts.from_payload(counts.to_payload()) == counts
    assert DigestCounts.from_payload({"captured": 2, "unknown": 5}) == DigestCounts(captured=2)
