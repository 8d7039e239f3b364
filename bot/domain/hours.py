"""Working hours: open windows per weekday in local time, holidays, and time arithmetic. Pure.

A rep's working hours (and later a queue's business hours) are weekly
windows of local wall-clock time in a timezone.  Each day's windows are
turned into UTC instants through the zone, so a 09:00–17:30 day stays
09:00–17:30 on the clock across daylight-saving changes, and a day that is
23 or 25 hours long counts as that many hours.

Windows do not cross midnight: ``start < end`` on one day, where an ``end``
of ``time(0)`` means midnight at the end of the day (24:00).  A night shift
from 22:00 to 06:00 is two windows, 22:00–24:00 and 00:00–06:00 the next
day.  A window is open at its start and closed at its end.  A wall time
that does not exist (the hour skipped when clocks go forward) is read with
the offset before the change; one that happens twice, at its first
occurrence.  ``holidays`` are whole local days closed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "WeeklyHours",
    "Window",
    "add_open_time",
    "is_open",
    "next_open",
    "open_seconds_between",
]

Window = tuple[time, time]

_DAY = 86400


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class WeeklyHours:
    """Open windows for each weekday (``windows[0]`` is Monday) and closed local days.

    Windows of a day are sorted and overlapping ones merged on construction;
    ValueError for a window whose start is not before its end.
    """

    windows: tuple[tuple[Window, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.windows) != 7:
            raise ValueError(f"need windows for 7 weekdays, got {len(self.windows)}")
        days = tuple(_merged(day) for day in self.windows)
        object.__setattr__(self, "windows", days)
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @classmethod
    def always(cls) -> WeeklyHours:
        """Open every hour of every day."""
        return cls(tuple(((time(0), time(0)),) for _ in range(7)))

    @classmethod
    def weekly(cls, days: Iterable[int], start: time, end: time) -> WeeklyHours:
        """The same window on each of ``days`` (0 = Monday), closed on the others."""
        chosen = set(days)
        return cls(tuple(((start, end),) if d in chosen else () for d in range(7)))

    @functools.cached_property
    def is_always(self) -> bool:
        """Open all the time (every rotation and SLA check asks first: computed once)."""
        return not self.holidays and all(day == ((time(0), time(0)),) for day in self.windows)

    @property
    def is_never(self) -> bool:
        return not any(self.windows)


def _merged(day: Iterable[Window]) -> tuple[Window, ...]:
    spans: list[tuple[int, int]] = []
    for start, end in day:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("window times are local wall-clock times, without a timezone")
        s, e = _seconds(start), _seconds(end) or _DAY
        if s >= e:
            raise ValueError(f"a window must start before it ends: {start:%H:%M}–{end:%H:%M}")
        spans.append((s, e))
    spans.sort()
    out: list[list[int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return tuple((_time(s), _time(e)) for s, e in out)


def _time(seconds: int) -> time:
    seconds %= _DAY  # the end of the day is time(0)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _open_intervals(
    hours: WeeklyHours, tz: ZoneInfo, first: date, last: date
) -> Iterator[tuple[datetime, datetime]]:
    """The open intervals, in UTC and in order, of local days ``first`` to ``last``."""
    day = first
    while day <= last:
        if day not in hours.holidays:
            for start, end in hours.windows[day.weekday()]:
                end_day = day + timedelta(days=1) if end == time(0) else day
                yield (
                    datetime.combine(day, start, tzinfo=tz).astimezone(UTC),
                    datetime.combine(end_day, end, tzinfo=tz).astimezone(UTC),
                )
        day += timedelta(days=1)


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def is_open(hours: WeeklyHours, tz: ZoneInfo, now: datetime) -> bool:
    """Whether ``now`` (aware) falls in an open window, in ``tz``'s local time."""
    now = _utc(now)
    if hours.is_always:
        return True
    day = _local_day(now, tz)
    one = timedelta(days=1)
    return any(
        start <= now < end for start, end in _open_intervals(hours, tz, day - one, day + one)
    )


def next_open(hours: WeeklyHours, tz: ZoneInfo, now: datetime) -> datetime | None:
    """``now`` if open, else the next moment a window opens (UTC); None if never open."""
    now = _utc(now)
    if hours.is_never:
        return None
    day = _local_day(now, tz) - timedelta(days=1)
    # Each week has an open day, so a week past the last holiday there is a window.
    horizon = max([_local_day(now, tz), *hours.holidays]) + timedelta(days=8)
    while day <= horizon:
        for start, end in _open_intervals(hours, tz, day, day):
            if end > now:
                return max(start, now)
        day += timedelta(days=1)
    return None  # pragma: no cover - the horizon always holds an open window


def open_seconds_between(hours: WeeklyHours, tz: ZoneInfo, start: datetime, end: datetime) -> float:
    """Seconds of open time from ``start`` to ``end`` (0 when end is not after start).

    The business-time clock for SLAs and response-time metrics: the time
    outside working hours does not count.  Works a day at a time.
    """
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0.0
    if hours.is_always:
        return (end - start).total_seconds()
    one = timedelta(days=1)
    first, last = _local_day(start, tz) - one, _local_day(end, tz) + one
    total = timedelta(0)
    for a, b in _open_intervals(hours, tz, first, last):
        if b > start and a < end:
            total += min(b, end) - max(a, start)
    return total.total_seconds()


def add_open_time(
    hours: WeeklyHours, tz: ZoneInfo, start: datetime, duration: timedelta
) -> datetime | None:
    """The first moment (UTC) by which ``duration`` of open time has passed since ``start``.

    The inverse of ``open_seconds_between``: the earliest ``t`` with
    ``open_seconds_between(hours, tz, start, t) >= duration``, so a deadline
    of five business minutes falls exactly when the fifth open minute ends,
    and a ``start`` outside the hours waits for the next opening.  None when
    the hours are never open.  Works a day at a time.
    """
    start = _utc(start)
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if hours.is_always or not duration:
        return start + duration
    if hours.is_never:
        return None
    left = duration
    day = _local_day(start, tz) - timedelta(days=1)
    while True:  # every week past the last holiday has an open window
        for a, b in _open_intervals(hours, tz, day, day):
            a = max(a, start)
            if b <= a:
                continue
            if b - a >= left:
                return a + left
            left -= b - a
        day += timedelta(days=1)
