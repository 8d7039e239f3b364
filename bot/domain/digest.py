"""Recurring digests: when the next one is due, and what it counts. Pure.

A digest runs daily, or weekly on one weekday, at a wall-clock hour in its
timezone, so "09:00" stays 09:00 on the clock across daylight-saving changes.
A wall time that does not exist (the hour skipped when clocks go forward) is
read with the offset before the change, and one that happens twice at its
first occurrence, as `bot/domain/hours.py` does.

A digest counts lead events over its period (since the previous run, or the
last day or week for the first one): the definitions are `DigestCounts.add`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "COUNTED_KINDS",
    "WEEKDAYS",
    "Cadence",
    "DigestCounts",
    "DigestSchedule",
    "count_events",
    "next_run",
    "parse_clock_time",
    "parse_weekday",
    "period_start",
]


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


#: Weekday names as typed in `/leads digest weekly mon 09:00`; Monday is 0.
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class DigestSchedule:
    """Daily, or weekly on `weekday` (0 = Monday), at `hour`:00 local time in `tz`."""

    cadence: Cadence
    hour: int
    tz: ZoneInfo
    weekday: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ValueError(f"hour must be 0-23, got {self.hour}")
        if (self.cadence is Cadence.WEEKLY) != (self.weekday is not None):
            raise ValueError("a weekly digest needs a weekday, a daily one none")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0-6, got {self.weekday}")

    @property
    def length(self) -> timedelta:
        """The nominal period one digest covers."""
        return timedelta(days=7 if self.cadence is Cadence.WEEKLY else 1)

    def describe(self) -> str:
        """E.g. "every day at 09:00" or "every Monday at 09:00"."""
        at = f"{self.hour:02d}:00"
        if self.weekday is None:
            return f"every day at {at}"
        return f"every {_LONG_WEEKDAYS[self.weekday].capitalize()} at {at}"


def next_run(schedule: DigestSchedule, after: datetime) -> datetime:
    """The first run strictly after `after` (aware), in UTC.

    Missed runs are not caught up one by one: a digest that was due while the
    process was down is sent once, and this is asked for the run after *now*.
    """
    local = after.astimezone(schedule.tz)
    for offset in range(9):  # a weekly run is at most 7 local days ahead (+1 for the gap)
        day = local.date() + timedelta(days=offset)
        if schedule.weekday is not None and day.weekday() != schedule.weekday:
            continue
        wall = datetime.combine(day, time(schedule.hour), tzinfo=schedule.tz)
        at = wall.astimezone(UTC)
        if at > after:
            return at
    raise AssertionError("unreachable: a run falls within nine local days")  # pragma: no cover


def period_start(schedule: DigestSchedule, last_run: datetime | None, now: datetime) -> datetime:
    """Where the period a digest sent at `now` starts: the previous run, or one period back."""
    return last_run if last_run is not None else now - schedule.length


def parse_clock_time(text: str) -> int | None:
    """The hour of "09:00" or "9:00" (digests run on the hour); None when it is not one."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or len(hours) > 2 or minutes != "00":
        return None
    hour = int(hours)
    return hour if hour <= 23 else None


def parse_weekday(text: str) -> int | None:
    """0-6 for "mon" / "Monday" … "sun"; None for anything else."""
    word = text.lower()
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    if word in _LONG_WEEKDAYS:
        return _LONG_WEEKDAYS.index(word)
    return None


@dataclass(frozen=True)
class DigestCounts:
    """What happened to leads over a digest's period, counted from their events."""

    captured: int = 0
    posted: int = 0
    nurtured: int = 0
    claimed: int = 0
    first_contacts: int = 0
    sla_met: int = 0
    sla_missed: int = 0
    contacted_late: int = 0
    won: int = 0
    lost: int = 0

    def add(self, kind: str, to_state: str | None, count: int) -> DigestCounts:
        """These counts plus `count` events of `kind` (moving the lead to `to_state`).

        - captured: `captured` events (every new lead, wherever it went);
        - posted to a queue: `captured` into any state but nurture, and `routed`
          (a nurtured lead that became sales-ready);
        - nurtured: `captured` into nurture, and the Nurture button (`nurture`);
        - claimed, first contacts, won, lost: `claimed`, `first_contact`, `won`, `lost`;
        - SLA met / missed: `sla_met`, `sla_missed` (the ladder's last step, or a
          first contact after the target); `sla_contact_late` is the late first
          contact of a lead already counted as missed, shown apart, not a second miss.
        """
        changes: dict[str, int] = {}
        if kind == "captured":
            changes["captured"] = count
            changes["nurtured" if to_state == "nurture" else "posted"] = count
        elif kind in _SIMPLE_KINDS:
            changes[_SIMPLE_KINDS[kind]] = count
        if not changes:
            return self
        values = asdict(self)
        for name, extra in changes.items():
            values[name] += extra
        return DigestCounts(**values)

    def to_payload(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> DigestCounts:
        """Counts stored by `to_payload`; unknown keys are ignored, missing ones are 0."""
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = payload.get(f.name, 0)
            values[f.name] = int(raw) if isinstance(raw, int | str) else 0
        return cls(**values)


_SIMPLE_KINDS: dict[str, str] = {
    "routed": "posted",
    "nurture": "nurtured",
    "claimed": "claimed",
    "first_contact": "first_contacts",
    "sla_met": "sla_met",
    "sla_missed": "sla_missed",
    "sla_contact_late": "contacted_late",
    "won": "won",
    "lost": "lost",
}

#: The event kinds a digest reads; anything else would be ignored by `DigestCounts.add`.
COUNTED_KINDS: frozenset[str] = frozenset({"captured", *_SIMPLE_KINDS})


def count_events(rows: Iterable[tuple[str, str | None, int]]) -> DigestCounts:
    """Counts from `(kind, to_state, how many)` rows, e.g. a GROUP BY over `lead_events`."""
    counts = DigestCounts()
    for kind, to_state, count in rows:
        counts = counts.add(kind, to_state, count)
    return counts
