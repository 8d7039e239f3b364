"""The metric definitions (docs/metrics.md) on hand-built event histories.

Each expected number is worked out in the test from the story it tells, not
taken from the code: a lead captured Friday 17:00 and contacted Monday 09:05 in
a Mon–Fri 09:00–17:00 queue waited 64h05m on the wall and 5 minutes of business time.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain import reports
from bot.domain.hours import WeeklyHours, open_seconds_between
from bot.domain.metrics import (
    Distribution,
    Event,
    LeadFacts,
    RepFacts,
    Stage,
    percentile,
    project,
)

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FRIDAY_5PM = datetime(2026, 1, 9, 17, 0, tzinfo=UTC)
OFFICE = WeeklyHours.weekly(range(5), time(9), time(17))
UTC_ZONE = ZoneInfo("UTC")


def office_time(queue: str | None, start: datetime, end: datetime) -> float:
    return open_seconds_between(OFFICE, UTC_ZONE, start, end)


def wall_time(queue: str | None, start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def ev(kind: str, at: datetime, actor: str = "system", **data: Any) -> Event:
    to_state = data.pop("to", None)
    return Event(kind, at, actor, None, to_state, data)


def at(minutes: float, start: datetime = MONDAY) -> datetime:
    return start + timedelta(minutes=minutes)


def captured(when: datetime, *, queue: str | None = "sales", grade: str = "SQL") -> Event:
    state = "new" if queue else "nurture"
    return ev("captured", when, "api-key:1", to=state, intake="api", queue=queue, grade=grade)


def facts_of(events: list[Event], business: Any = wall_time) -> tuple[LeadFacts, list[RepFacts]]:
    projected = project(1, events, business, source="google-ads")
    assert projected is not None
    return projected


def rep(reps: list[RepFacts], rep_id: str) -> RepFacts:
    return next(r for r in reps if r.rep_id == rep_id)


def test_a_lead_claimed_and_contacted_inside_the_sla() -> None:
    facts, reps = facts_of(
        [
            captured(at(0)),
            ev("offered", at(0), "api-key:1", to="offered", rep="UA"),
            ev("claimed", at(1.5), "UA", to="claimed"),
            ev("first_contact", at(3), "UA", via="thread_reply"),
            ev("sla_met", at(3), "sla", elapsed_seconds=180.0),
            ev("qualified", at(60), "UA", to="qualified"),
            ev("won", at(600), "UA", to="won"),
        ]
    )
    assert facts.stage is Stage.WON and facts.state == "won"
    assert (facts.claim_seconds, facts.contact_seconds) == (90, 180)
    assert facts.first_contact_by == "UA" and facts.sla == "met"
    assert facts.source == "google-ads" and facts.grade == "SQL" and facts.intake == "api"
    alice = rep(reps, "UA")
    assert (alice.offers, alice.claims, alice.first_contact, alice.won) == (1, 1, True, True)
    assert alice.contact_seconds == 180 and not alice.sla_missed


def test_business_hours_time_skips_the_weekend() -> None:
    # Captured Friday 17:00 (closing time), claimed Monday 09:02, contacted Monday 09:05.
    monday = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    facts, _ = facts_of(
        [
            captured(FRIDAY_5PM),
            ev("claimed", monday + timedelta(minutes=2), "UA", to="claimed"),
            ev("first_contact", monday + timedelta(minutes=5), "UA"),
        ],
        office_time,
    )
    assert facts.contact_seconds == 64 * 3600 + 5 * 60
    assert facts.contact_business_seconds == 5 * 60
    assert facts.claim_seconds == 64 * 3600 + 2 * 60
    assert facts.claim_business_seconds == 2 * 60


def test_business_hours_inside_one_day_equal_wall_time() -> None:
    facts, _ = facts_of(
        [captured(at(60)), ev("claimed", at(70), "UA"), ev("first_contact", at(75), "UA")],
        office_time,
    )
    assert facts.contact_seconds == facts.contact_business_seconds == 15 * 60


def test_a_lead_never_contacted_has_no_response_time_and_misses_the_sla() -> None:
    facts, reps = facts_of(
        [
            captured(at(0)),
            ev("offered", at(0), "api-key:1", to="offered", rep="UA"),
            ev("offer_timeout", at(2), "sla", rep="UA"),
            ev("offered", at(2), "sla", to="offered", rep="UB"),
            ev("opened", at(3), "sla"),
            ev("sla_missed", at(5), "sla", target_seconds=300, claimed=False),
        ]
    )
    assert facts.stage is Stage.POSTED
    assert facts.first_contact_at is None and facts.contact_seconds is None
    assert facts.sla == "missed" and facts.state == "offered"
    assert rep(reps, "UA").timeouts == 1 and not rep(reps, "UA").sla_missed
    # The miss is charged to the rep the lead was offered to when it was missed.
    assert rep(reps, "UB").sla_missed and rep(reps, "UB").offers == 1


def test_released_and_reclaimed_counts_one_lead_with_its_first_claim() -> None:
    facts, reps = facts_of(
        [
            captured(at(0)),
            ev("offered", at(0), to="offered", rep="UA"),
            ev("claimed", at(1), "UA", to="claimed"),
            ev("released", at(2), "UA", to="new", rep="UA"),
            ev("offered", at(2), "UA", to="offered", rep="UB"),
            ev("claimed", at(4), "UB", to="claimed"),
            ev("first_contact", at(6), "UB"),
            ev("sla_missed", at(6), "sla", elapsed_seconds=360.0),
        ]
    )
    assert (facts.claims, facts.releases) == (2, 1)
    assert facts.claim_seconds == 60  # the first claim, however it ended
    assert facts.contact_seconds == 360 and facts.first_contact_by == "UB"
    assert facts.sla == "missed"
    alice, bob = rep(reps, "UA"), rep(reps, "UB")
    assert (alice.claims, alice.releases, alice.first_contact, alice.sla_missed) == (
        1,
        1,
        False,
        False,
    )
    assert (bob.claims, bob.first_contact, bob.sla_missed) == (1, True, True)


def test_a_merged_duplicate_is_the_same_lead_and_may_change_its_grade() -> None:
    facts, _ = facts_of(
        [
            captured(at(0), queue=None, grade="MQL"),
            ev("merged", at(30), "widget", grade="SQL", score=80),
            ev("routed", at(30), "widget", to="new", queue="sales"),
            ev("offered", at(30), "widget", to="offered", rep="UA"),
            ev("claimed", at(32), "UA", to="claimed"),
            ev("merged", at(40), "api-key:1", grade="SQL", score=85),
        ]
    )
    assert facts.merges == 2 and facts.grade == "SQL"
    assert facts.posted_at == at(30) and facts.stage is Stage.CLAIMED
    assert facts.claim_seconds == 120  # from posting (the routing), not from capture


def test_sla_contact_late_keeps_the_first_outcome_and_bots_do_not_count_as_contact() -> None:
    facts, _ = facts_of(
        [
            captured(at(0)),
            ev("sla_missed", at(5), "sla"),
            ev("first_contact", at(6), "sla"),  # not a person: ignored
            ev("first_contact", at(9), "UA"),
            ev("sla_contact_late", at(9), "sla", elapsed_seconds=540.0),
            ev("sla_met", at(9), "sla"),  # cannot overturn the first outcome
        ]
    )
    assert facts.sla == "missed" and facts.first_contact_by == "UA"
    assert facts.contact_seconds == 540


def test_a_history_without_capture_is_not_counted() -> None:
    assert project(1, [ev("claimed", at(1), "UA")], wall_time) is None


def test_percentile_is_nearest_rank() -> None:
    values = {10: 1, 20: 1, 30: 1, 40: 1}
    assert percentile(values, 50) == 20  # rank ceil(4 * 0.5) = 2
    assert percentile(values, 90) == 40  # rank ceil(3.6) = 4
    assert percentile({7: 1}, 50) == 7
    assert percentile({}, 50) is None
    assert percentile({5: 9, 100: 1}, 90) == 5  # rank 9 of 10
    assert percentile({5: 9, 100: 1}, 91) == 100
    with pytest.raises(ValueError):
        percentile(values, 0)
    assert Distribution.of_values([3, 1, 2]) == Distribution(3, 2, 3)


def group(grade: str | None, state: str, stage: Stage, sla: str | None, n: int) -> tuple:
    return (grade, state, int(stage), sla, n)


def test_summary_counts_the_cohort_without_spam() -> None:
    groups = [
        group("SQL", "won", Stage.WON, "met", 2),
        group("SQL", "contacted", Stage.CONTACTED, "missed", 3),
        group("SQL", "offered", Stage.POSTED, "missed", 1),  # never contacted
        group("MQL", "nurture", Stage.CAPTURED, None, 4),
        group(None, "spam", Stage.CAPTURED, None, 5),
    ]
    durations = {"contact_seconds": {60: 2, 120: 2, 600: 1}}
    s = reports.summarize(groups, durations)
    assert (s.captured, s.spam, s.posted, s.won, s.sql) == (10, 5, 6, 2, 6)
    assert s.conversion == pytest.approx(0.2) and s.sql_rate == pytest.approx(0.6)
    assert (s.sla_met, s.sla_missed) == (2, 4) and s.sla_rate == pytest.approx(2 / 6)
    assert s.not_contacted == 1
    assert s.by_grade == {"SQL": 6, "MQL": 4}
    assert list(s.by_state) == ["offered", "contacted", "won", "nurture"]
    assert s.contact.wall == Distribution(5, 120, 600)
    assert s.claim.wall == Distribution(0, None, None)


def test_funnel_counts_each_lead_at_every_step_up_to_its_furthest() -> None:
    groups = [
        group("SQL", "won", Stage.WON, None, 1),
        group("SQL", "lost", Stage.CONTACTED, None, 2),  # lost after contact: reached contacted
        group("SQL", "offered", Stage.POSTED, None, 3),
        group("IQL", "nurture", Stage.CAPTURED, None, 4),
        group(None, "spam", Stage.CAPTURED, None, 9),
    ]
    steps = reports.funnel(groups)
    assert [(s.stage, s.leads) for s in steps] == [
        (Stage.CAPTURED, 10),
        (Stage.POSTED, 6),
        (Stage.CLAIMED, 3),
        (Stage.CONTACTED, 3),
        (Stage.QUALIFIED, 1),
        (Stage.WON, 1),
    ]
    assert steps[0].from_previous is None and steps[1].from_previous == pytest.approx(0.6)
    assert steps[5].from_captured == pytest.approx(0.1)


def test_funnel_of_nothing_is_zeros_without_division_errors() -> None:
    steps = reports.funnel([])
    assert all(s.leads == 0 and s.from_captured is None for s in steps)


def test_costs_are_prorated_to_the_period_and_divided_by_wins() -> None:
    jan = datetime(2026, 1, 1, tzinfo=UTC)
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    costs = [
        ("google-ads", jan, feb, Decimal("3100")),  # 100 a day over 31 days
        ("linkedin", feb, feb + timedelta(days=28), Decimal("500")),  # outside the period
    ]
    period_start, period_end = jan + timedelta(days=10), jan + timedelta(days=20)
    spent = reports.prorated_costs(costs, period_start, period_end)
    assert spent == {"google-ads": Decimal("1000.00")}
    lines = reports.source_lines(
        [("google-ads", "SQL", int(Stage.WON), 4), ("google-ads", "MQL", 0, 6), (None, None, 0, 1)],
        spent,
    )
    google = lines[0]
    assert (google.source, google.leads, google.sql, google.won) == ("google-ads", 10, 4, 4)
    assert google.cost_per_conversion == Decimal("250.00")
    assert lines[1].source == reports.NO_SOURCE and lines[1].cost is None


def test_a_source_with_spend_and_no_wins_has_no_cost_per_conversion() -> None:
    lines = reports.source_lines([], {"webinar": Decimal("99.99")})
    assert lines[0].leads == 0 and lines[0].cost_per_conversion is None


def test_rep_lines_take_each_reps_own_response_times() -> None:
    lines = reports.rep_lines(
        [("UA", 5, 3, 1, 3, 1, 1), ("UB", 4, 4, 0, 4, 0, 2)],
        {"UA": {60: 2, 600: 1}, "UB": {30: 4}},
        {"UA": {60: 3}},
    )
    assert [line.rep_id for line in lines] == ["UB", "UA"]  # most won first
    ua = lines[1]
    assert ua.response.wall == Distribution(3, 60, 600)
    assert ua.response.business == Distribution(3, 60, 60)
    assert lines[0].response.business == Distribution(0, None, None)


def test_a_spam_lead_counts_for_no_rep() -> None:
    facts, reps = facts_of(
        [
            captured(at(0)),
            ev("offered", at(0), to="offered", rep="UA"),
            ev("claimed", at(1), "UA", to="claimed"),
            ev("spam", at(2), "UA", to="spam"),
        ]
    )
    assert facts.spam and facts.claims == 1
    assert reps == []
