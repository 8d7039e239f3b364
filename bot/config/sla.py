"""The SLA in the file: a queue's ``business_hours`` and ``ladder``, and the ``sla:`` section.

A queue may set its business hours (the SLA clock runs only inside them)::

    business_hours:
      timezone: America/New_York      # default: workspace.timezone
      hours:                          # default: always open; blocks as in working_hours
        - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:30"}
      holidays: [2026-12-25, 2027-01-01]

and its escalation ladder (default: SPEC §6's, ``Ladder.default()``)::

    ladder:
      - {after: 1m, if: unclaimed, then: dm_offered_rep}
      - {after: 5m, if: no_contact, then: mark_missed}

``sla: {escalation_channel: C…}`` is where missed SLAs are reported to the
managers; without it each manager is sent a DM instead.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from bot.config.fields import Day, Duration, SlackChannelId, Timezone, _duplicates, _Section
from bot.config.hours import WorkingHours, weekly_hours
from bot.config.problems import Loc, _Refs
from bot.domain.hours import WeeklyHours
from bot.domain.lead import format_duration
from bot.domain.sla import ALLOWED_CONDITIONS, Action, Condition, Ladder, Step


class BusinessHours(_Section):
    """When a queue's SLA clock runs: weekly hours in a timezone, minus holidays.

    ``timezone`` None means the workspace's; ``hours`` None means every hour
    of every day (holidays still close whole days).
    """

    timezone: Timezone | None = None
    hours: WorkingHours | None = None
    holidays: tuple[Day, ...] = ()

    @field_validator("hours")
    @classmethod
    def _some_hours(cls, hours: object) -> object:
        if hours == ():
            raise _Refs([((), "must list at least one block; leave it out to be always open")])
        return hours

    @field_validator("holidays")
    @classmethod
    def _holidays_once(cls, days: tuple[date, ...]) -> tuple[date, ...]:
        dup = [
            ((i,), f"{days[i].isoformat()} is already listed at holidays[{j}]")
            for i, j in _duplicates(days)
        ]
        if dup:
            raise _Refs(dup)
        return days

    def to_hours(self) -> WeeklyHours:
        """The hours with the holidays closed, for ``bot.domain.hours``."""
        return WeeklyHours(weekly_hours(self.hours).windows, frozenset(self.holidays))


class StepConfig(_Section):
    """One rung of a ladder: ``{after: 1m, if: unclaimed, then: dm_offered_rep}``."""

    after: Duration
    if_: Condition = Field(alias="if")
    then: Action

    def to_step(self) -> Step:
        return Step(self.after, self.if_, self.then)


class SlaSection(_Section):
    """Settings of the SLA shared by every queue.

    ``escalation_channel``: where a missed SLA is posted for the managers
    (the bot must be a member); None: each manager gets a DM instead.
    """

    escalation_channel: SlackChannelId | None = None


def check_ladder(steps: tuple[StepConfig, ...]) -> list[tuple[Loc, str]]:
    """What stops ``steps`` from being a ``Ladder``, each at its step's key."""
    if not steps:
        return [((), "must list at least one step; leave it out for the default ladder")]
    found: list[tuple[Loc, str]] = []
    for i, step in enumerate(steps):
        allowed = ALLOWED_CONDITIONS[step.then]
        if step.if_ not in allowed:
            names = " or ".join(c.value for c in Condition if c in allowed)
            found.append(
                (
                    (i, "if"),
                    f"must be {names} with 'then: {step.then.value}' (got {step.if_.value!r})",
                )
            )
        if i and step.after < steps[i - 1].after:
            found.append(
                (
                    (i, "after"),
                    f"must not be earlier than the step before it "
                    f"(ladder[{i - 1}] is after {format_duration(steps[i - 1].after)}; "
                    f"got {format_duration(step.after)}); list the steps in order",
                )
            )
    misses = [i for i, step in enumerate(steps) if step.then is Action.MARK_MISSED]
    if not misses:
        found.append(((), "needs one step with 'then: mark_missed': it sets the SLA deadline"))
    for i in misses[1:]:
        message = f"only one step may mark the SLA missed; ladder[{misses[0]}] already does"
        found.append(((i, "then"), message))
    return found


def ladder_of(steps: tuple[StepConfig, ...] | None) -> Ladder:
    """The ladder the steps describe (checked by ``check_ladder``); None: the default one."""
    if steps is None:
        return Ladder.default()
    return Ladder(tuple(step.to_step() for step in steps))
