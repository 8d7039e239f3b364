"""Working hours in the file: ``{days: [mon, tue], start: "09:00", end: "17:30"}`` blocks.

A rep's ``working_hours`` is one block or a list of them (a lunch break is two
blocks on the same days), read in the rep's timezone.  Queues will take the
same blocks for their business hours, so the model is here on its own;
``weekly_hours`` gives the domain ``WeeklyHours`` (``bot/domain/hours.py``).
"""

from __future__ import annotations

from datetime import time

from pydantic import model_validator

from bot.config.fields import (
    WEEKDAYS,
    EndTime,
    OneOrMany,
    StartTime,
    Weekday,
    _duplicates,
    _Section,
    as_tuple,
)
from bot.config.problems import Loc, _Refs
from bot.domain.hours import WeeklyHours, Window


class HoursConfig(_Section):
    """One window of local time on some days of the week.

    ``end: "24:00"`` (or ``"00:00"``) is midnight at the end of the day.
    """

    days: tuple[Weekday, ...]
    start: StartTime
    end: EndTime

    @model_validator(mode="after")
    def _sensible(self) -> HoursConfig:
        found: list[tuple[Loc, str]] = [
            (("days", i), f"{WEEKDAYS[self.days[i]]} is already listed at days[{j}]")
            for i, j in _duplicates(self.days)
        ]
        if not self.days:
            found.append((("days",), "must list at least one day, like [mon, tue, wed, thu, fri]"))
        if self.end != time(0) and self.end <= self.start:
            message = (
                f'must be after start ("{self.start:%H:%M}") (got "{self.end:%H:%M}"); '
                'for hours past midnight use two blocks, one ending "24:00" and one '
                'starting "00:00" on the next days'
            )
            found.append((("end",), message))
        if found:
            raise _Refs(found)
        return self

    def to_hours(self) -> WeeklyHours:
        """This block alone: open in its window on its days, closed otherwise."""
        return weekly_hours(self)


#: What a ``working_hours`` key holds: one block or a list of them.
WorkingHours = OneOrMany[HoursConfig]


def weekly_hours(blocks: HoursConfig | tuple[HoursConfig, ...] | None) -> WeeklyHours:
    """The hours several blocks describe together (none: always open)."""
    if blocks is None:
        return WeeklyHours.always()
    days: list[list[Window]] = [[] for _ in range(7)]
    for block in as_tuple(blocks):
        for day in block.days:
            days[day].append((block.start, block.end))
    return WeeklyHours(tuple(tuple(windows) for windows in days))
