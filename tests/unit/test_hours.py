"""Working hours: open or not, the next opening, and open time between two moments, across DST."""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hours import (
    WeeklyHours,
    add_open_time,
    is_open,
    next_open,
    open_seconds_between,
)

LONDON = ZoneInfo("Europe/London")  # 2025: clocks forward 30 March, back 26 October
NEW_YORK = ZoneInfo("America/New_York")  # 2025: forward 9 March, back 2 November
GOOD_FRIDAY = date(2025, 4, 18)

OFFICE = WeeklyHours.weekly(range(5), time(9), time(17, 30))  # Mon-Fri 09:00-17:30
OFFICE_WITH_HOLIDAY = WeeklyHours(OFFICE.windows, frozenset({GOOD_FRIDAY}))
HOUR = 3600


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (hours, zone, now in UTC, open)
IS_OPEN: list[Any] = [
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 9), True, id="opens-at-start-inclusive"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 8, 59, 59), False, id="before-start"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 17, 29, 59), True, id="just-before-end"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 17, 30), False, id="closed-at-end"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 29, 12), False, id="saturday"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 30, 12), False, id="sunday-of-the-change"),
    # After the clocks go forward 09:00 London is 08:00 UTC.
    pytest.param(OFFICE, LONDON, utc(2025, 3, 31, 8), True, id="bst-opens-an-hour-earlier-utc"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 31, 7, 59), False, id="bst-before-start"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 31, 16, 29), True, id="bst-before-end"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 31, 16, 30), False, id="bst-closed-at-end"),
    pytest.param(OFFICE, LONDON, utc(2025, 10, 27, 9), True, id="back-to-gmt"),
    pytest.param(OFFICE, LONDON, utc(2025, 10, 27, 8), False, id="back-to-gmt-early"),
    pytest.param(OFFICE, NEW_YORK, utc(2025, 3, 7, 14), True, id="ny-est-0900"),
    pytest.param(OFFICE, NEW_YORK, utc(2025, 3, 7, 13, 30), False, id="ny-est-0830"),
    pytest.param(OFFICE, NEW_YORK, utc(2025, 3, 10, 13), True, id="ny-edt-0900"),
    pytest.param(OFFICE, NEW_YORK, utc(2025, 3, 10, 12, 59), False, id="ny-edt-0859"),
    pytest.param(OFFICE, ZoneInfo("Pacific/Auckland"), utc(2025, 3, 23, 20), True,
                 id="auckland-monday-morning-is-utc-sunday"),
    pytest.param(OFFICE_WITH_HOLIDAY, LONDON, utc(2025, 4, 18, 12), False, id="holiday"),
    pytest.param(OFFICE_WITH_HOLIDAY, LONDON, utc(2025, 4, 17, 12), True, id="day-before"),
    pytest.param(WeeklyHours.always(), LONDON, utc(2025, 3, 30, 1, 30), True, id="always"),
    pytest.param(WeeklyHours.weekly((), time(9), time(17)), LONDON, utc(2025, 3, 24, 12), False,
                 id="never"),
]  # fmt: skip


@pytest.mark.parametrize(("hours", "tz", "now", "expected"), IS_OPEN)
def test_is_open(hours: WeeklyHours, tz: ZoneInfo, now: datetime, expected: bool) -> None:
    assert is_open(hours, tz, now) is expected


def test_is_open_takes_any_aware_datetime() -> None:
    local = datetime(2025, 3, 31, 9, tzinfo=LONDON)
    assert is_open(OFFICE, LONDON, local)
    assert is_open(OFFICE, LONDON, local.astimezone(timezone(timedelta(hours=5))))
    with pytest.raises(ValueError, match="aware"):
        is_open(OFFICE, LONDON, datetime(2025, 3, 31, 9))


LATE = WeeklyHours.weekly([6], time(0), time(3))  # Sunday 00:00-03:00: across the 01:00 change
MIDNIGHT = WeeklyHours.weekly([5], time(22), time(0))  # Saturday 22:00-24:00


@pytest.mark.parametrize(
    ("hours", "tz", "now", "expected"),
    [
        pytest.param(LATE, LONDON, utc(2025, 3, 30, 0, 59), True, id="before-the-jump"),
        # 01:00 GMT is 02:00 BST: still inside, and the window ends at 03:00 BST = 02:00 UTC.
        pytest.param(LATE, LONDON, utc(2025, 3, 30, 1, 30), True, id="after-the-jump"),
        pytest.param(LATE, LONDON, utc(2025, 3, 30, 2), False, id="ends-at-0300-bst"),
        pytest.param(MIDNIGHT, LONDON, utc(2025, 3, 29, 23, 59), True, id="until-midnight"),
        pytest.param(MIDNIGHT, LONDON, utc(2025, 3, 30, 0), False, id="closed-at-midnight"),
    ],
)
def test_windows_around_the_change_and_midnight(
    hours: WeeklyHours, tz: ZoneInfo, now: datetime, expected: bool
) -> None:
    assert is_open(hours, tz, now) is expected


# (hours, zone, now, next opening or None)
NEXT_OPEN: list[Any] = [
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 12), utc(2025, 3, 24, 12), id="open-now"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 6), utc(2025, 3, 24, 9), id="later-today"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 17, 30), utc(2025, 3, 25, 9),
                 id="at-the-end-tomorrow"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 28, 18), utc(2025, 3, 31, 8),
                 id="weekend-across-dst"),
    pytest.param(OFFICE, NEW_YORK, utc(2025, 3, 7, 23), utc(2025, 3, 10, 13),
                 id="ny-weekend-across-dst"),
    pytest.param(OFFICE_WITH_HOLIDAY, LONDON, utc(2025, 4, 17, 18), utc(2025, 4, 21, 8),
                 id="holiday-then-weekend"),
    pytest.param(WeeklyHours(OFFICE.windows,
                             frozenset(date(2025, 12, 20) + timedelta(days=n) for n in range(16))),
                 LONDON, utc(2025, 12, 19, 18), utc(2026, 1, 5, 9), id="two-weeks-off"),
    pytest.param(WeeklyHours.weekly((), time(9), time(17)), LONDON, utc(2025, 3, 24, 12), None,
                 id="never-open"),
]  # fmt: skip


@pytest.mark.parametrize(("hours", "tz", "now", "expected"), NEXT_OPEN)
def test_next_open(
    hours: WeeklyHours, tz: ZoneInfo, now: datetime, expected: datetime | None
) -> None:
    assert next_open(hours, tz, now) == expected


EVERY_DAY_BUT_XMAS = WeeklyHours(WeeklyHours.always().windows, frozenset({date(2025, 12, 25)}))

# (hours, zone, start, end, open seconds)
BETWEEN: list[Any] = [
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 10), utc(2025, 3, 24, 12), 2 * HOUR,
                 id="inside-one-window"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 6), utc(2025, 3, 24, 20), 8.5 * HOUR,
                 id="around-one-window"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 21, 17), utc(2025, 3, 24, 9, 30), HOUR,
                 id="over-a-weekend"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 28, 17), utc(2025, 3, 31, 8, 30), HOUR,
                 id="over-the-dst-weekend"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24), utc(2025, 4, 7), 10 * 8.5 * HOUR,
                 id="two-weeks-across-dst"),
    pytest.param(OFFICE, NEW_YORK, utc(2025, 3, 3), utc(2025, 3, 17), 10 * 8.5 * HOUR,
                 id="ny-two-weeks-across-dst"),
    pytest.param(OFFICE_WITH_HOLIDAY, LONDON, utc(2025, 4, 14), utc(2025, 4, 21), 4 * 8.5 * HOUR,
                 id="week-with-a-holiday"),
    pytest.param(OFFICE, LONDON, utc(2025, 1, 1), utc(2026, 1, 1), 261 * 8.5 * HOUR,
                 id="a-whole-year"),
    pytest.param(EVERY_DAY_BUT_XMAS, LONDON, datetime(2025, 3, 30, tzinfo=LONDON),
                 datetime(2025, 3, 31, tzinfo=LONDON), 23 * HOUR, id="the-short-day"),
    pytest.param(EVERY_DAY_BUT_XMAS, LONDON, datetime(2025, 10, 26, tzinfo=LONDON),
                 datetime(2025, 10, 27, tzinfo=LONDON), 25 * HOUR, id="the-long-day"),
    pytest.param(EVERY_DAY_BUT_XMAS, LONDON, utc(2025, 12, 24), utc(2025, 12, 27), 48 * HOUR,
                 id="every-day-but-a-holiday"),
    pytest.param(WeeklyHours.always(), NEW_YORK, utc(2025, 3, 8), utc(2025, 3, 10), 48 * HOUR,
                 id="always-is-elapsed-time"),
    pytest.param(LATE, LONDON, utc(2025, 3, 29), utc(2025, 3, 31), 2 * HOUR,
                 id="a-window-the-jump-shortens"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 12), utc(2025, 3, 24, 12), 0.0, id="empty"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 12), utc(2025, 3, 24, 10), 0.0,
                 id="end-before-start"),
]  # fmt: skip


@pytest.mark.parametrize(("hours", "tz", "start", "end", "expected"), BETWEEN)
def test_open_seconds_between(
    hours: WeeklyHours, tz: ZoneInfo, start: datetime, end: datetime, expected: float
) -> None:
    assert open_seconds_between(hours, tz, start, end) == expected


def test_windows_are_sorted_and_merged() -> None:
    hours = WeeklyHours(
        (
            ((time(13), time(17)), (time(9), time(12)), (time(11), time(14))),
            ((time(9), time(12)), (time(12), time(13))),
            ((time(20), time(0)), (time(0), time(1))),
            (),
            (),
            (),
            (),
        )
    )
    assert hours.windows[:3] == (
        ((time(9), time(17)),),
        ((time(9), time(13)),),
        ((time(0), time(1)), (time(20), time(0))),
    )
    assert open_seconds_between(hours, LONDON, utc(2025, 1, 6), utc(2025, 1, 7)) == 8 * HOUR


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ((((time(17), time(9)),),) + ((),) * 6, "must start before it ends: 17:00–09:00"),
        ((((time(9), time(9)),),) + ((),) * 6, "must start before it ends"),
        ((((time(0), time(0)),),) * 6, "7 weekdays"),
        ((((time(9, tzinfo=UTC), time(10)),),) + ((),) * 6, "without a timezone"),
    ],
)
def test_bad_windows_are_refused(windows: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WeeklyHours(windows)


def test_always_and_never() -> None:
    assert WeeklyHours.always().is_always and not WeeklyHours.always().is_never
    assert not EVERY_DAY_BUT_XMAS.is_always
    assert WeeklyHours.weekly((), time(9), time(17)).is_never


# --------------------------------------------------------------------------- add_open_time

MINUTE = timedelta(minutes=1)

# (hours, zone, start, open time to add, the moment it has passed)
ADD: list[Any] = [
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 10), 5 * MINUTE, utc(2025, 3, 24, 10, 5),
                 id="inside-a-window"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 6), 5 * MINUTE, utc(2025, 3, 24, 9, 5),
                 id="waits-for-the-opening"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 9), 5 * MINUTE, utc(2025, 3, 24, 9, 5),
                 id="from-the-opening"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 17, 25), 5 * MINUTE, utc(2025, 3, 24, 17, 30),
                 id="ends-exactly-at-closing"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 17, 25), 6 * MINUTE, utc(2025, 3, 25, 9, 1),
                 id="one-minute-into-tomorrow"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 17, 30), MINUTE, utc(2025, 3, 25, 9, 1),
                 id="from-the-closing"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 21, 17, 29), 5 * MINUTE, utc(2025, 3, 24, 9, 4),
                 id="friday-1729-to-monday"),
    # After the clocks go forward, Monday 09:00 London is 08:00 UTC.
    pytest.param(OFFICE, LONDON, utc(2025, 3, 28, 17, 29), 5 * MINUTE, utc(2025, 3, 31, 8, 4),
                 id="over-the-dst-weekend"),
    pytest.param(OFFICE, NEW_YORK, utc(2025, 3, 7, 22, 29), 5 * MINUTE, utc(2025, 3, 10, 13, 4),
                 id="ny-over-the-dst-weekend"),
    pytest.param(OFFICE_WITH_HOLIDAY, LONDON, utc(2025, 4, 17, 16, 29), 5 * MINUTE,
                 utc(2025, 4, 21, 8, 4), id="over-good-friday-and-the-weekend"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 24, 9), timedelta(hours=17), utc(2025, 3, 25, 17, 30),
                 id="two-whole-days"),
    pytest.param(EVERY_DAY_BUT_XMAS, LONDON, utc(2025, 12, 24, 23, 58), 5 * MINUTE,
                 utc(2025, 12, 26, 0, 3), id="a-holiday-on-an-always-open-week"),
    pytest.param(EVERY_DAY_BUT_XMAS, LONDON, datetime(2025, 3, 30, tzinfo=LONDON),
                 timedelta(hours=23), datetime(2025, 3, 31, tzinfo=LONDON), id="the-short-day"),
    pytest.param(LATE, LONDON, utc(2025, 3, 30, 0, 59), 2 * MINUTE, utc(2025, 3, 30, 1, 1),
                 id="across-the-jump"),
    # Two minutes before midnight GMT, three after 22:00 BST a week later.
    pytest.param(MIDNIGHT, LONDON, utc(2025, 3, 29, 23, 58), 5 * MINUTE, utc(2025, 4, 5, 21, 3),
                 id="to-next-saturday-night"),
    pytest.param(WeeklyHours.always(), NEW_YORK, utc(2025, 3, 9, 6, 59), 2 * MINUTE,
                 utc(2025, 3, 9, 7, 1), id="always-is-elapsed-time"),
    pytest.param(OFFICE, LONDON, utc(2025, 3, 29, 12), timedelta(0), utc(2025, 3, 29, 12),
                 id="nothing-to-add"),
]  # fmt: skip


@pytest.mark.parametrize(("hours", "tz", "start", "duration", "expected"), ADD)
def test_add_open_time(
    hours: WeeklyHours, tz: ZoneInfo, start: datetime, duration: timedelta, expected: datetime
) -> None:
    assert add_open_time(hours, tz, start, duration) == expected
    # Exactly then, not a second before.
    assert open_seconds_between(hours, tz, start, expected) == duration.total_seconds()
    if duration:
        before = open_seconds_between(hours, tz, start, expected - timedelta(seconds=1))
        assert before < duration.total_seconds()


LUNCH = WeeklyHours(
    (*(((time(8, 30), time(12)), (time(13), time(17, 30))) for _ in range(5)), (), ()),
    frozenset({date(2025, 5, 5), date(2025, 12, 25), date(2025, 12, 26)}),
)
NIGHTS = WeeklyHours(tuple(((time(0), time(6)), (time(22), time(0))) for _ in range(7)))


@pytest.mark.parametrize(
    ("hours", "tz"),
    [
        pytest.param(OFFICE_WITH_HOLIDAY, LONDON, id="office-with-a-holiday"),
        pytest.param(OFFICE, NEW_YORK, id="ny-office"),
        pytest.param(LUNCH, ZoneInfo("Australia/Sydney"), id="lunch-break-sydney"),
        pytest.param(NIGHTS, LONDON, id="nights-across-midnight"),
        pytest.param(LATE, NEW_YORK, id="sunday-small-hours"),
    ],
)
def test_add_open_time_is_the_inverse_of_open_seconds_between(
    hours: WeeklyHours, tz: ZoneInfo
) -> None:
    rng = random.Random(f"{tz.key}-{hours.windows[0]}")
    year = utc(2025, 1, 1)
    for _ in range(300):
        start = year + timedelta(seconds=rng.randrange(365 * 86400))
        duration = timedelta(seconds=rng.choice([1, 60, 299, 300, rng.randrange(3 * 86400)]))
        end = add_open_time(hours, tz, start, duration)
        assert end is not None and end >= start
        assert open_seconds_between(hours, tz, start, end) == duration.total_seconds()
        assert open_seconds_between(hours, tz, start, end - timedelta(seconds=1)) < (
            duration.total_seconds()
        )


def test_add_open_time_when_never_open_or_given_bad_input() -> None:
    never = WeeklyHours.weekly((), time(9), time(17))
    assert add_open_time(never, LONDON, utc(2025, 3, 24), MINUTE) is None
    with pytest.raises(ValueError, match="negative"):
        add_open_time(OFFICE, LONDON, utc(2025, 3, 24), -MINUTE)
    with pytest.raises(ValueError, match="aware"):
        add_open_time(OFFICE, LONDON, datetime(2025, 3, 24), MINUTE)


def test_add_open_time_walks_days_not_seconds() -> None:
    # Closed for almost a whole year: the answer still comes at once.
    holidays = frozenset(date(2025, 1, 1) + timedelta(days=n) for n in range(364))
    hours = WeeklyHours(WeeklyHours.always().windows, holidays)
    started = clock.perf_counter()
    assert add_open_time(hours, LONDON, utc(2025, 1, 1), timedelta(hours=24)) == utc(2026, 1, 1)
    assert clock.perf_counter() - started < 0.5
