"""The five-minute SLA (SPEC §6): the escalation ladder, what is due when, and the outcome. Pure.

A queue's ``Ladder`` is a list of steps at offsets of *business time* from
capture: each fires when that much open time has passed (``due_times``;
outside business hours the clock waits), and acts only if its ``Condition``
still holds then (``applies``).  The store keeps one deadline per step, by
its index in the ladder; ``steps_to_cancel`` says which of them a claim, a
first contact or a closed lead makes moot.

Cancellation is final.  A claim cancels the ladder's ``UNCLAIMED`` steps for
good: if the owner later releases the lead, Release itself offers it to the
next rep, and the ``NO_CONTACT`` steps (the deadline) still stand, so the
nags for an unclaimed lead are not started again.

``target`` is the SLA: the offset of the one ``MARK_MISSED`` step.  A first
contact at or before the deadline meets it (the miss step, due at that very
moment, finds the contact made); a lead with no contact when the deadline
comes has missed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.hours import WeeklyHours, add_open_time, next_open, open_seconds_between
from bot.domain.lead import format_duration

__all__ = [
    "ALLOWED_CONDITIONS",
    "Action",
    "Condition",
    "Ladder",
    "LeadClock",
    "Outcome",
    "Step",
    "applies",
    "clock_line",
    "deadline",
    "due_steps",
    "due_times",
    "nag_text",
    "sla_outcome",
    "steps_to_cancel",
]


class Condition(StrEnum):
    """What must still be true of a lead when a step comes due for it to act."""

    UNCLAIMED = "unclaimed"  # nobody owns the lead
    CLAIMED_NO_CONTACT = "claimed_no_contact"  # owned, no first contact yet
    NO_CONTACT = "no_contact"  # no first contact, claimed or not


class Action(StrEnum):
    """What a step does when it acts."""

    DM_OFFERED_REP = "dm_offered_rep"  # remind the rep the lead is offered to
    REOFFER = "reoffer"  # offer to the next rep in rotation and DM them
    OPEN_TO_CHANNEL = "open_to_channel"  # open to the whole channel with a mention
    DM_OWNER = "dm_owner"  # remind the owner to make first contact
    MARK_MISSED = "mark_missed"  # mark the SLA missed, tell the managers


#: The conditions each action makes sense with: offers and the channel are for
#: a lead nobody owns; a DM to the owner for one that may be owned (it acts only
#: when it is); and the SLA is missed by any lead without a first contact.
ALLOWED_CONDITIONS: Mapping[Action, frozenset[Condition]] = {
    Action.DM_OFFERED_REP: frozenset({Condition.UNCLAIMED}),
    Action.REOFFER: frozenset({Condition.UNCLAIMED}),
    Action.OPEN_TO_CHANNEL: frozenset({Condition.UNCLAIMED}),
    Action.DM_OWNER: frozenset({Condition.CLAIMED_NO_CONTACT, Condition.NO_CONTACT}),
    Action.MARK_MISSED: frozenset({Condition.NO_CONTACT}),
}


@dataclass(frozen=True)
class Step:
    """``after`` this much business time from capture, if ``condition`` holds, ``action``."""

    after: timedelta
    condition: Condition
    action: Action


@dataclass(frozen=True)
class Ladder:
    """A queue's steps, in the order they come due.

    Offsets are positive and never decrease (steps with equal offsets come
    due together, in this order); exactly one step marks the SLA missed, and
    each action has a condition it makes sense with (``ALLOWED_CONDITIONS``).
    ValueError otherwise.  Steps may follow the miss, such as a later DM to
    the owner.
    """

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise ValueError("a ladder needs at least one step")
        for i, step in enumerate(self.steps):
            if step.after <= timedelta(0):
                raise ValueError(f"step {i} must come after capture, got {step.after}")
            if i and step.after < self.steps[i - 1].after:
                raise ValueError(f"step {i} comes before step {i - 1}: offsets must not decrease")
            if step.condition not in ALLOWED_CONDITIONS[step.action]:
                raise ValueError(f"step {i}: {step.action} does not go with {step.condition}")
        misses = sum(step.action is Action.MARK_MISSED for step in self.steps)
        if misses != 1:
            raise ValueError(f"a ladder needs exactly one mark_missed step, got {misses}")

    @classmethod
    def default(cls) -> Ladder:
        """SPEC §6's ladder: nag, re-offer and open an unclaimed lead; miss at five minutes."""
        minute = timedelta(minutes=1)
        return cls(
            (
                Step(1 * minute, Condition.UNCLAIMED, Action.DM_OFFERED_REP),
                Step(2 * minute, Condition.UNCLAIMED, Action.REOFFER),
                Step(3 * minute, Condition.UNCLAIMED, Action.OPEN_TO_CHANNEL),
                Step(4 * minute, Condition.CLAIMED_NO_CONTACT, Action.DM_OWNER),
                Step(5 * minute, Condition.NO_CONTACT, Action.MARK_MISSED),
            )
        )

    @property
    def missed_step(self) -> Step:
        """The one step that marks the SLA missed."""
        return next(s for s in self.steps if s.action is Action.MARK_MISSED)

    @property
    def target(self) -> timedelta:
        """The SLA: business time from capture to first contact (the miss step's offset)."""
        return self.missed_step.after


@dataclass(frozen=True)
class LeadClock:
    """What the ladder needs to know about a lead.

    ``closed``: won, lost, nurture or spam; no step acts on it any more.
    """

    captured_at: datetime
    owner: str | None = None
    first_contact_at: datetime | None = None
    closed: bool = False


def due_times(
    ladder: Ladder, hours: WeeklyHours, tz: ZoneInfo, captured_at: datetime
) -> tuple[datetime | None, ...]:
    """When each step comes due (UTC), in ladder order; None when the hours are never open.

    A step is due exactly when its offset of open time has passed, not a
    moment before: a lead captured outside business hours waits for them.
    """
    return tuple(add_open_time(hours, tz, captured_at, step.after) for step in ladder.steps)


def due_steps(
    ladder: Ladder, hours: WeeklyHours, tz: ZoneInfo, captured_at: datetime, now: datetime
) -> tuple[int, ...]:
    """Indexes of the steps due by ``now`` (whether or not they still apply)."""
    due = due_times(ladder, hours, tz, captured_at)
    return tuple(i for i, at in enumerate(due) if at is not None and at <= now)


def deadline(
    ladder: Ladder, hours: WeeklyHours, tz: ZoneInfo, captured_at: datetime
) -> datetime | None:
    """The moment (UTC) the SLA is missed without a first contact; None if never open."""
    return add_open_time(hours, tz, captured_at, ladder.target)


def applies(step: Step, lead: LeadClock) -> bool:
    """Whether ``step`` acts on ``lead`` as it is when the step comes due.

    Nothing acts on a contacted or closed lead; ``UNCLAIMED`` steps need no
    owner, ``CLAIMED_NO_CONTACT`` ones an owner; and a DM to the owner needs
    one whatever its condition says.
    """
    if lead.closed or lead.first_contact_at is not None:
        return False
    if step.action is Action.DM_OWNER and lead.owner is None:
        return False
    if step.condition is Condition.UNCLAIMED:
        return lead.owner is None
    if step.condition is Condition.CLAIMED_NO_CONTACT:
        return lead.owner is not None
    return True


def steps_to_cancel(ladder: Ladder, lead: LeadClock) -> tuple[int, ...]:
    """Indexes of the steps that must never act now: cancel their pending deadlines.

    A first contact or a closed lead cancels every step; an owner cancels
    the ``UNCLAIMED`` ones.  Cancellation is final (see the module notes), so
    a release later does not bring those back.
    """
    if lead.closed or lead.first_contact_at is not None:
        return tuple(range(len(ladder.steps)))
    if lead.owner is not None:
        return tuple(
            i for i, step in enumerate(ladder.steps) if step.condition is Condition.UNCLAIMED
        )
    return ()


@dataclass(frozen=True)
class Outcome:
    """How a lead stands against the SLA, in business time.

    ``elapsed``: from capture to first contact (or to now without one);
    ``margin``: target minus elapsed, negative when over.  ``met`` only once
    contact came by the deadline; a lead not contacted yet is ``pending``
    until the deadline and ``missed`` from then on.
    """

    met: bool
    elapsed: timedelta
    margin: timedelta

    @property
    def missed(self) -> bool:
        return not self.met and self.margin <= timedelta(0)

    @property
    def pending(self) -> bool:
        return not self.met and not self.missed


def sla_outcome(
    ladder: Ladder,
    hours: WeeklyHours,
    tz: ZoneInfo,
    captured_at: datetime,
    first_contact_at: datetime | None,
    now: datetime | None = None,
) -> Outcome:
    """The SLA outcome at first contact, or at ``now`` for a lead not contacted yet.

    ValueError when neither ``first_contact_at`` nor ``now`` is given.
    """
    end = first_contact_at if first_contact_at is not None else now
    if end is None:
        raise ValueError("a lead without a first contact needs `now`")
    elapsed = timedelta(seconds=open_seconds_between(hours, tz, captured_at, end))
    margin = ladder.target - elapsed
    return Outcome(first_contact_at is not None and margin >= timedelta(0), elapsed, margin)


def clock_line(
    ladder: Ladder, hours: WeeklyHours, tz: ZoneInfo, lead: LeadClock, now: datetime
) -> str:
    """One line for the lead card: time left, paused, met or missed.

    Plain text; a time of day is in the queue's timezone, ``tz``.
    """
    outcome = sla_outcome(ladder, hours, tz, lead.captured_at, lead.first_contact_at, now)
    if outcome.met:
        return f"✅ SLA met in {format_duration(outcome.elapsed)}"
    if lead.first_contact_at is not None:
        return f"⚠️ SLA missed by {format_duration(-outcome.margin)}"
    if lead.closed:
        return "⏹ No SLA clock: closed without a first contact"
    if outcome.missed:
        return f"⚠️ SLA missed: no first contact within {format_duration(ladder.target)}"
    left = format_duration(outcome.margin)
    resumes = next_open(hours, tz, now)
    if resumes is None:
        return f"⏸ SLA clock paused: no business hours ({left} left)"
    if resumes > now:
        local = resumes.astimezone(tz)
        # A weekday names the day well within the week; further off, give the date too.
        day = (
            f"{local:%a}"
            if resumes - now < timedelta(days=6)
            else f"{local:%a} {local.day} {local:%b}"
        )
        when = f"{day} {local:%H:%M %Z}"
        return f"⏸ SLA clock paused outside business hours ({left} left, resumes {when})"
    return f"⏱ {left} left to first contact"


def nag_text(ladder: Ladder, step: Step, left: timedelta | None = None) -> str:
    """What ``step`` says when it acts, as plain text (the renderer adds mentions and the card).

    ``left``: business time to the deadline, by default the ladder's target
    minus the step's offset (what is left when the step fires on time).
    """
    if left is None:
        left = ladder.target - step.after
    if left > timedelta(0):
        respond = f"{_minutes(left)} left to respond"
    else:
        respond = f"already past the {_minutes(ladder.target)} SLA"
    if step.action is Action.DM_OFFERED_REP:
        return f"Lead waiting for you: {respond}. Claim it before it moves on."
    if step.action is Action.REOFFER:
        return f"Lead offered to you: nobody has claimed it yet, {respond}."
    if step.action is Action.OPEN_TO_CHANNEL:
        return f"Lead open to anyone: nobody has claimed it, {respond}."
    if step.action is Action.DM_OWNER:
        return f"Your lead has no first contact yet, {respond}."
    return f"SLA missed: no first contact within {_minutes(ladder.target)} of business time."


def _minutes(delta: timedelta) -> str:
    """``4 min`` for whole minutes under an hour, else ``format_duration``'s form."""
    seconds = int(delta.total_seconds())
    if 0 < seconds < 3600 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return format_duration(delta)
