"""The SLA ladder: what is due when, what still applies, what a claim or contact cancels,
business hours across weekends, holidays and DST in two timezones, outcomes and the card line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.domain.hours import WeeklyHours
from bot.domain.sla import (
    Action,
    Condition,
    Ladder,
    LeadClock,
    Outcome,
    Step,
    applies,
    clock_line,
    deadline,
    due_steps,
    due_times,
    nag_text,
    sla_outcome,
    steps_to_cancel,
)

LONDON = ZoneInfo("Europe/London")  # 2025: clocks forward 30 March
NEW_YORK = ZoneInfo("America/New_York")  # 2025: forward 9 March
ALWAYS = WeeklyHours.always()
OFFICE = WeeklyHours.weekly(range(5), time(9), time(17, 30))  # Mon-Fri 09:00-17:30
DEFAULT = Ladder.default()
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
CAPTURE = datetime(2025, 3, 24, 10, tzinfo=UTC)  # a Monday morning


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def with_holidays(hours: WeeklyHours, *days: date) -> WeeklyHours:
    return WeeklyHours(hours.windows, frozenset(days))


# --------------------------------------------------------------------------- the ladder


def test_the_default_ladder_is_the_spec_table() -> None:
    assert [(s.after, s.condition, s.action) for s in DEFAULT.steps] == [
        (1 * MINUTE, Condition.UNCLAIMED, Action.DM_OFFERED_REP),
        (2 * MINUTE, Condition.UNCLAIMED, Action.REOFFER),
        (3 * MINUTE, Condition.UNCLAIMED, Action.OPEN_TO_CHANNEL),
        (4 * MINUTE, Condition.CLAIMED_NO_CONTACT, Action.DM_OWNER),
        (5 * MINUTE, Condition.NO_CONTACT, Action.MARK_MISSED),
    ]
    assert DEFAULT.target == 5 * MINUTE
    assert DEFAULT.missed_step is DEFAULT.steps[4]


def test_steps_may_share_an_offset_and_follow_the_miss() -> None:
    ladder = Ladder(
        (
            Step(MINUTE, Condition.UNCLAIMED, Action.OPEN_TO_CHANNEL),
            Step(MINUTE, Condition.CLAIMED_NO_CONTACT, Action.DM_OWNER),
            Step(2 * MINUTE, Condition.NO_CONTACT, Action.MARK_MISSED),
            Step(10 * MINUTE, Condition.NO_CONTACT, Action.DM_OWNER),
        )
    )
    assert ladder.target == 2 * MINUTE
    assert due_times(ladder, ALWAYS, LONDON, CAPTURE) == (
        CAPTURE + MINUTE,
        CAPTURE + MINUTE,
        CAPTURE + 2 * MINUTE,
        CAPTURE + 10 * MINUTE,
    )


MISS = Step(5 * MINUTE, Condition.NO_CONTACT, Action.MARK_MISSED)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        pytest.param((), "at least one step", id="empty"),
        pytest.param((Step(timedelta(0), Condition.NO_CONTACT, Action.MARK_MISSED),),
                     "after capture", id="at-capture"),
        pytest.param((Step(2 * MINUTE, Condition.UNCLAIMED, Action.REOFFER),
                      Step(MINUTE, Condition.UNCLAIMED, Action.REOFFER), MISS),
                     "must not decrease", id="out-of-order"),
        pytest.param((Step(MINUTE, Condition.UNCLAIMED, Action.REOFFER),),
                     "exactly one mark_missed step, got 0", id="no-miss"),
        pytest.param((MISS, MISS), "exactly one mark_missed step, got 2", id="two-misses"),
        pytest.param((Step(MINUTE, Condition.UNCLAIMED, Action.DM_OWNER), MISS),
                     "dm_owner does not go with unclaimed", id="dm-owner-unclaimed"),
        pytest.param((Step(MINUTE, Condition.NO_CONTACT, Action.REOFFER), MISS),
                     "reoffer does not go with no_contact", id="reoffer-no-contact"),
        pytest.param((Step(5 * MINUTE, Condition.UNCLAIMED, Action.MARK_MISSED),),
                     "mark_missed does not go with unclaimed", id="miss-only-if-unclaimed"),
    ],
)  # fmt: skip
def test_bad_ladders_are_refused(steps: tuple[Step, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Ladder(steps)


# --------------------------------------------------------------------------- due times


@pytest.mark.parametrize("index", range(5))
def test_each_default_step_is_due_exactly_at_its_offset(index: int) -> None:
    at = CAPTURE + DEFAULT.steps[index].after
    assert due_times(DEFAULT, ALWAYS, LONDON, CAPTURE)[index] == at
    assert index not in due_steps(DEFAULT, ALWAYS, LONDON, CAPTURE, at - SECOND)
    assert index in due_steps(DEFAULT, ALWAYS, LONDON, CAPTURE, at)
    # The steps before it are due too, the ones after it not yet.
    assert due_steps(DEFAULT, ALWAYS, LONDON, CAPTURE, at) == tuple(range(index + 1))


def test_nothing_is_ever_due_when_the_hours_are_never_open() -> None:
    never = WeeklyHours.weekly((), time(9), time(17))
    assert due_times(DEFAULT, never, LONDON, CAPTURE) == (None,) * 5
    assert deadline(DEFAULT, never, LONDON, CAPTURE) is None
    assert due_steps(DEFAULT, never, LONDON, CAPTURE, CAPTURE + timedelta(days=30)) == ()


# --------------------------------------------------------------------------- a fake clock


@dataclass
class LadderRun:
    """The timer job in miniature: each second, apply the lead's changes (cancelling what
    they make moot), then fire the pending steps that are due, acting where they apply."""

    ladder: Ladder
    hours: WeeklyHours
    tz: ZoneInfo
    lead: LeadClock
    pending: set[int] = field(default_factory=set)
    acted: list[tuple[timedelta, Action]] = field(default_factory=list)
    cancelled: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.pending = set(range(len(self.ladder.steps)))
        self.due = due_times(self.ladder, self.hours, self.tz, self.lead.captured_at)

    def change(self, **changes: Any) -> None:
        self.lead = LeadClock(**{**self.lead.__dict__, **changes})
        moot = set(steps_to_cancel(self.ladder, self.lead)) & self.pending
        self.cancelled |= moot
        self.pending -= moot

    def tick(self, now: datetime) -> None:
        for i in sorted(self.pending):
            at = self.due[i]
            if at is not None and at <= now:
                self.pending.discard(i)
                step = self.ladder.steps[i]
                if applies(step, self.lead):
                    self.acted.append((now - self.lead.captured_at, step.action))


def run(
    *,
    claim_at: int | None = None,
    contact_at: int | None = None,
    release_at: int | None = None,
    close_at: int | None = None,
    seconds: int = 400,
) -> LadderRun:
    """Walk the default ladder on a fake clock, one second at a time, from capture."""
    clock = FakeClock(CAPTURE)
    ladder_run = LadderRun(DEFAULT, ALWAYS, LONDON, LeadClock(CAPTURE))
    for t in range(seconds + 1):
        now = clock.now()
        if t == claim_at:
            ladder_run.change(owner="U0ALICE1")
        if t == release_at:
            ladder_run.change(owner=None)
        if t == contact_at:
            ladder_run.change(first_contact_at=now)
        if t == close_at:
            ladder_run.change(closed=True)
        ladder_run.tick(now)
        clock.advance(1)
    return ladder_run


def test_an_untouched_lead_walks_the_ladder_on_time() -> None:
    assert run().acted == [
        (1 * MINUTE, Action.DM_OFFERED_REP),
        (2 * MINUTE, Action.REOFFER),
        (3 * MINUTE, Action.OPEN_TO_CHANNEL),
        (5 * MINUTE, Action.MARK_MISSED),  # nobody owns it: no owner to DM at 4 min
    ]


UNCLAIMED_STEPS = [
    (60, Action.DM_OFFERED_REP),
    (120, Action.REOFFER),
    (180, Action.OPEN_TO_CHANNEL),
]


@pytest.mark.parametrize("claim_at", range(0, 302))
def test_a_claim_at_any_second_cancels_the_unclaimed_steps(claim_at: int) -> None:
    # A claim in the same second as a step is seen first: the step is moot.
    result = run(claim_at=claim_at)
    expected = [(timedelta(seconds=t), a) for t, a in UNCLAIMED_STEPS if t < claim_at]
    if claim_at <= 240:
        expected.append((4 * MINUTE, Action.DM_OWNER))
    expected.append((5 * MINUTE, Action.MARK_MISSED))
    assert result.acted == expected
    assert result.cancelled == {i for i in (0, 1, 2) if UNCLAIMED_STEPS[i][0] >= claim_at}


@pytest.mark.parametrize("contact_at", range(0, 302))
def test_a_first_contact_at_any_second_cancels_every_step_left(contact_at: int) -> None:
    result = run(claim_at=contact_at, contact_at=contact_at)
    expected = [(timedelta(seconds=t), a) for t, a in UNCLAIMED_STEPS if t < contact_at]
    if contact_at > 300:
        expected.append((5 * MINUTE, Action.MARK_MISSED))
    assert result.acted == expected
    assert not result.pending


@pytest.mark.parametrize("contact_at", [30, 200, 250, 299, 300])
def test_contact_after_an_early_claim(contact_at: int) -> None:
    result = run(claim_at=10, contact_at=contact_at)
    expected = [(4 * MINUTE, Action.DM_OWNER)] if contact_at > 240 else []
    assert result.acted == expected


def test_closing_the_lead_cancels_everything() -> None:
    result = run(close_at=90)
    assert result.acted == [(1 * MINUTE, Action.DM_OFFERED_REP)]
    assert result.cancelled == {1, 2, 3, 4}


def test_a_release_does_not_bring_cancelled_steps_back() -> None:
    # Claimed at 30 s, released at 90 s: the unclaimed nags stay cancelled (Release
    # offers the lead to the next rep itself); the deadline still stands.
    result = run(claim_at=30, release_at=90)
    assert result.acted == [(5 * MINUTE, Action.MARK_MISSED)]
    assert result.cancelled == {0, 1, 2}


# --------------------------------------------------------------------------- applies / cancel

UNCLAIMED_LEAD = LeadClock(CAPTURE)
CLAIMED = LeadClock(CAPTURE, owner="U0ALICE1")
CONTACTED = LeadClock(CAPTURE, owner="U0ALICE1", first_contact_at=CAPTURE + MINUTE)
CONTACTED_UNOWNED = LeadClock(CAPTURE, first_contact_at=CAPTURE + MINUTE)  # released after
CLOSED = LeadClock(CAPTURE, closed=True)
CLOSED_OWNED = LeadClock(CAPTURE, owner="U0ALICE1", closed=True)

OFFER = Step(MINUTE, Condition.UNCLAIMED, Action.DM_OFFERED_REP)
NUDGE = Step(MINUTE, Condition.CLAIMED_NO_CONTACT, Action.DM_OWNER)
NUDGE_ANYONE = Step(MINUTE, Condition.NO_CONTACT, Action.DM_OWNER)


# (step, lead, acts)
APPLIES: list[Any] = [
    pytest.param(OFFER, UNCLAIMED_LEAD, True, id="unclaimed-step-unclaimed-lead"),
    pytest.param(OFFER, CLAIMED, False, id="unclaimed-step-claimed-lead"),
    pytest.param(OFFER, CONTACTED, False, id="unclaimed-step-contacted-lead"),
    pytest.param(OFFER, CONTACTED_UNOWNED, False, id="unclaimed-step-contacted-released"),
    pytest.param(OFFER, CLOSED, False, id="unclaimed-step-closed-lead"),
    pytest.param(NUDGE, UNCLAIMED_LEAD, False, id="claimed-step-unclaimed-lead"),
    pytest.param(NUDGE, CLAIMED, True, id="claimed-step-claimed-lead"),
    pytest.param(NUDGE, CONTACTED, False, id="claimed-step-contacted-lead"),
    pytest.param(NUDGE, CLOSED_OWNED, False, id="claimed-step-closed-lead"),
    pytest.param(MISS, UNCLAIMED_LEAD, True, id="no-contact-step-unclaimed-lead"),
    pytest.param(MISS, CLAIMED, True, id="no-contact-step-claimed-lead"),
    pytest.param(MISS, CONTACTED, False, id="no-contact-step-contacted-lead"),
    pytest.param(MISS, CONTACTED_UNOWNED, False, id="no-contact-step-contacted-released"),
    pytest.param(MISS, CLOSED, False, id="no-contact-step-closed-lead"),
    pytest.param(MISS, CLOSED_OWNED, False, id="no-contact-step-closed-owned-lead"),
    # A DM to the owner needs an owner whatever its condition allows.
    pytest.param(NUDGE_ANYONE, UNCLAIMED_LEAD, False, id="dm-owner-nobody-to-dm"),
    pytest.param(NUDGE_ANYONE, CLAIMED, True, id="dm-owner-no-contact-claimed"),
]


@pytest.mark.parametrize(("step", "lead", "expected"), APPLIES)
def test_applies(step: Step, lead: LeadClock, expected: bool) -> None:
    assert applies(step, lead) is expected


@pytest.mark.parametrize(
    ("lead", "cancel"),
    [
        pytest.param(UNCLAIMED_LEAD, (), id="unclaimed"),
        pytest.param(CLAIMED, (0, 1, 2), id="claimed"),
        pytest.param(CONTACTED, (0, 1, 2, 3, 4), id="contacted"),
        pytest.param(CONTACTED_UNOWNED, (0, 1, 2, 3, 4), id="contacted-released"),
        pytest.param(CLOSED, (0, 1, 2, 3, 4), id="closed"),
    ],
)
def test_steps_to_cancel(lead: LeadClock, cancel: tuple[int, ...]) -> None:
    assert steps_to_cancel(DEFAULT, lead) == cancel


# --------------------------------------------------------------------------- business hours

GOOD_FRIDAY = date(2025, 4, 18)  # a London holiday
JULY_4 = date(2025, 7, 4)  # a New York holiday, a Friday


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


# (hours, zone, capture, due time of each default step, in the zone's wall-clock time)
BUSINESS: list[Any] = [
    # The first minute ends at closing time; the rest wait for Monday.
    pytest.param(OFFICE, LONDON, local(LONDON, 2025, 3, 21, 17, 29),
                 [local(LONDON, 2025, 3, 21, 17, 30)]
                 + [local(LONDON, 2025, 3, 24, 9, m) for m in (1, 2, 3, 4)],
                 id="london-friday-1729"),
    pytest.param(OFFICE, NEW_YORK, local(NEW_YORK, 2025, 2, 14, 17, 29),
                 [local(NEW_YORK, 2025, 2, 14, 17, 30)]
                 + [local(NEW_YORK, 2025, 2, 17, 9, m) for m in (1, 2, 3, 4)],
                 id="new-york-friday-1729"),
    pytest.param(OFFICE, LONDON, local(LONDON, 2025, 3, 22, 11),
                 [local(LONDON, 2025, 3, 24, 9, m) for m in (1, 2, 3, 4, 5)],
                 id="london-saturday-capture"),
    # Across the change to summer time: the wall clock still says 09:0x.
    pytest.param(OFFICE, LONDON, local(LONDON, 2025, 3, 28, 17, 28),
                 [local(LONDON, 2025, 3, 28, 17, 29), local(LONDON, 2025, 3, 28, 17, 30)]
                 + [local(LONDON, 2025, 3, 31, 9, m) for m in (1, 2, 3)],
                 id="london-dst-weekend"),
    pytest.param(OFFICE, NEW_YORK, local(NEW_YORK, 2025, 3, 7, 17, 29),
                 [local(NEW_YORK, 2025, 3, 7, 17, 30)]
                 + [local(NEW_YORK, 2025, 3, 10, 9, m) for m in (1, 2, 3, 4)],
                 id="new-york-dst-weekend"),
    # Thursday evening, a holiday Friday, the weekend: Monday.
    pytest.param(with_holidays(OFFICE, GOOD_FRIDAY), LONDON, local(LONDON, 2025, 4, 17, 17, 27),
                 [local(LONDON, 2025, 4, 17, 17, m) for m in (28, 29, 30)]
                 + [local(LONDON, 2025, 4, 21, 9, m) for m in (1, 2)],
                 id="london-good-friday"),
    pytest.param(with_holidays(OFFICE, JULY_4), NEW_YORK, local(NEW_YORK, 2025, 7, 3, 16),
                 [local(NEW_YORK, 2025, 7, 3, 16, m) for m in (1, 2, 3, 4, 5)],
                 id="new-york-before-the-holiday"),
    pytest.param(with_holidays(OFFICE, JULY_4), NEW_YORK, local(NEW_YORK, 2025, 7, 3, 17, 29),
                 [local(NEW_YORK, 2025, 7, 3, 17, 30)]
                 + [local(NEW_YORK, 2025, 7, 7, 9, m) for m in (1, 2, 3, 4)],
                 id="new-york-july-4"),
    # Open all night: the hour the clocks skip is not business time either way.
    pytest.param(with_holidays(ALWAYS, date(2025, 12, 25)), LONDON, utc(2025, 3, 30, 0, 58),
                 [local(LONDON, 2025, 3, 30, 0, 59)]
                 + [local(LONDON, 2025, 3, 30, 2, m) for m in (0, 1, 2, 3)],
                 id="london-clocks-go-forward"),
]  # fmt: skip


@pytest.mark.parametrize(("hours", "tz", "captured", "expected"), BUSINESS)
def test_steps_wait_for_business_hours(
    hours: WeeklyHours, tz: ZoneInfo, captured: datetime, expected: list[datetime]
) -> None:
    # In UTC: local wall-clock arithmetic is wrong across the change.
    expected = [at.astimezone(UTC) for at in expected]
    due = due_times(DEFAULT, hours, tz, captured)
    assert due == tuple(expected)
    assert deadline(DEFAULT, hours, tz, captured) == due[-1]
    for i, at in enumerate(expected):
        assert i not in due_steps(DEFAULT, hours, tz, captured, at - SECOND)
        assert i in due_steps(DEFAULT, hours, tz, captured, at)


# --------------------------------------------------------------------------- outcomes

FRIDAY_1729 = local(LONDON, 2025, 3, 21, 17, 29)


# (hours, capture, first contact, now, outcome)
OUTCOMES: list[Any] = [
    pytest.param(ALWAYS, CAPTURE, CAPTURE + timedelta(minutes=2, seconds=10), None,
                 Outcome(True, timedelta(minutes=2, seconds=10),
                         timedelta(minutes=2, seconds=50)), id="met"),
    pytest.param(ALWAYS, CAPTURE, CAPTURE + 5 * MINUTE, None,
                 Outcome(True, 5 * MINUTE, timedelta(0)), id="met-at-the-deadline"),
    pytest.param(ALWAYS, CAPTURE, CAPTURE + 5 * MINUTE + SECOND, None,
                 Outcome(False, 5 * MINUTE + SECOND, -SECOND), id="missed-by-a-second"),
    pytest.param(ALWAYS, CAPTURE, CAPTURE + timedelta(minutes=9, seconds=5), None,
                 Outcome(False, timedelta(minutes=9, seconds=5),
                         -timedelta(minutes=4, seconds=5)), id="missed"),
    # One minute on Friday and two on Monday: the weekend does not count.
    pytest.param(OFFICE, FRIDAY_1729, local(LONDON, 2025, 3, 24, 9, 2), None,
                 Outcome(True, 3 * MINUTE, 2 * MINUTE), id="met-over-the-weekend"),
    pytest.param(ALWAYS, CAPTURE, None, CAPTURE + 3 * MINUTE,
                 Outcome(False, 3 * MINUTE, 2 * MINUTE), id="not-contacted-yet"),
    pytest.param(ALWAYS, CAPTURE, None, CAPTURE + 5 * MINUTE,
                 Outcome(False, 5 * MINUTE, timedelta(0)), id="no-contact-at-the-deadline"),
]  # fmt: skip


@pytest.mark.parametrize(("hours", "captured", "contact", "now", "expected"), OUTCOMES)
def test_sla_outcome(
    hours: WeeklyHours,
    captured: datetime,
    contact: datetime | None,
    now: datetime | None,
    expected: Outcome,
) -> None:
    assert sla_outcome(DEFAULT, hours, LONDON, captured, contact, now) == expected


def test_outcome_met_missed_or_pending() -> None:
    met = Outcome(True, 5 * MINUTE, timedelta(0))
    late = Outcome(False, 6 * MINUTE, -MINUTE)
    due_now = Outcome(False, 5 * MINUTE, timedelta(0))
    waiting = Outcome(False, MINUTE, 4 * MINUTE)
    assert [(o.met, o.missed, o.pending) for o in (met, late, due_now, waiting)] == [
        (True, False, False),
        (False, True, False),
        (False, True, False),
        (False, False, True),
    ]


def test_an_outcome_without_contact_needs_now() -> None:
    with pytest.raises(ValueError, match="now"):
        sla_outcome(DEFAULT, ALWAYS, LONDON, CAPTURE, None)


# --------------------------------------------------------------------------- the card line

TWO_WEEKS_OFF = with_holidays(OFFICE, *(date(2025, 12, 20) + timedelta(days=n) for n in range(16)))

# (hours, queue zone, lead, now, line)
CLOCK_LINES: list[Any] = [
    pytest.param(ALWAYS, LONDON, UNCLAIMED_LEAD, CAPTURE + timedelta(minutes=1, seconds=40),
                 "⏱ 3m 20s left to first contact", id="ticking"),
    pytest.param(ALWAYS, LONDON, CLAIMED, CAPTURE, "⏱ 5m 00s left to first contact",
                 id="just-captured"),
    pytest.param(OFFICE, LONDON, LeadClock(FRIDAY_1729), local(LONDON, 2025, 3, 22, 10),
                 "⏸ SLA clock paused outside business hours (4m 00s left, resumes Mon 09:00 GMT)",
                 id="paused-for-the-weekend"),
    pytest.param(OFFICE, NEW_YORK, LeadClock(local(NEW_YORK, 2025, 3, 7, 17, 29)),
                 local(NEW_YORK, 2025, 3, 8, 10),
                 "⏸ SLA clock paused outside business hours (4m 00s left, resumes Mon 09:00 EDT)",
                 id="paused-shows-the-queue-zone"),
    pytest.param(TWO_WEEKS_OFF, LONDON, LeadClock(local(LONDON, 2025, 12, 19, 17, 28)),
                 local(LONDON, 2025, 12, 19, 18),
                 "⏸ SLA clock paused outside business hours (3m 00s left, resumes Mon 5 Jan "
                 "09:00 GMT)", id="paused-for-the-holidays"),
    pytest.param(WeeklyHours.weekly((), time(9), time(17)), LONDON, UNCLAIMED_LEAD, CAPTURE,
                 "⏸ SLA clock paused: no business hours (5m 00s left)", id="never-open"),
    pytest.param(ALWAYS, LONDON, LeadClock(CAPTURE, "U0ALICE1",
                                   CAPTURE + timedelta(minutes=2, seconds=10)),
                 CAPTURE + timedelta(hours=1), "✅ SLA met in 2m 10s", id="met"),
    pytest.param(ALWAYS, LONDON, LeadClock(CAPTURE, "U0ALICE1",
                                   CAPTURE + timedelta(minutes=9, seconds=5)),
                 CAPTURE + timedelta(hours=1), "⚠️ SLA missed by 4m 05s", id="missed-by"),
    pytest.param(ALWAYS, LONDON, CLAIMED, CAPTURE + 5 * MINUTE,
                 "⚠️ SLA missed: no first contact within 5m 00s", id="missed-no-contact"),
    pytest.param(ALWAYS, LONDON, CLOSED, CAPTURE + timedelta(hours=2),
                 "⏹ No SLA clock: closed without a first contact", id="closed"),
    pytest.param(ALWAYS, LONDON, LeadClock(CAPTURE, "U0ALICE1", CAPTURE + MINUTE, closed=True),
                 CAPTURE + timedelta(days=3), "✅ SLA met in 1m 00s", id="won-after-contact"),
]  # fmt: skip


@pytest.mark.parametrize(("hours", "tz", "lead", "now", "expected"), CLOCK_LINES)
def test_clock_line(
    hours: WeeklyHours, tz: ZoneInfo, lead: LeadClock, now: datetime, expected: str
) -> None:
    assert clock_line(DEFAULT, hours, tz, lead, now) == expected


# --------------------------------------------------------------------------- nag texts


def test_nag_texts_say_what_is_left() -> None:
    assert [nag_text(DEFAULT, step) for step in DEFAULT.steps] == [
        "Lead waiting for you: 4 min left to respond. Claim it before it moves on.",
        "Lead offered to you: nobody has claimed it yet, 3 min left to respond.",
        "Lead open to anyone: nobody has claimed it, 2 min left to respond.",
        "Your lead has no first contact yet, 1 min left to respond.",
        "SLA missed: no first contact within 5 min of business time.",
    ]


def test_nag_text_with_the_time_actually_left() -> None:
    owner = DEFAULT.steps[3]
    assert nag_text(DEFAULT, owner, timedelta(seconds=45)) == (
        "Your lead has no first contact yet, 45s left to respond."
    )
    late = Step(10 * MINUTE, Condition.NO_CONTACT, Action.DM_OWNER)
    assert (
        nag_text(DEFAULT, late) == "Your lead has no first contact yet, already past the 5 min SLA."
    )
