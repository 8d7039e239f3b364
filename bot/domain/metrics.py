"""What the reports count, defined once, computed from a lead's event history. Pure.

`docs/metrics.md` states each definition in words; this module is that text in
code, and the tests check one against the other on hand-built histories.

Two steps:

1. `project` folds one lead's events (oldest first) into `LeadFacts` and one
   `RepFacts` per rep the lead touched. The store keeps these as a projection of
   `lead_events` (`lead_facts`, `lead_rep_facts`), recomputed from the whole
   history of every lead with new events, so the projection is always a function
   of the log and can be rebuilt from it at any time.
2. Reports aggregate the facts of the leads *captured in the period* (a cohort:
   what has happened to those leads since, up to now), excluding spam. The
   aggregation helpers here (`percentile`, `Distribution`, the row builders) turn
   grouped query rows into the numbers shown.

Durations are whole seconds (rounded down). Response times start when the lead
was posted to a queue (at capture, or when a nurtured lead was routed later) and
are given both in wall-clock time and in the queue's business hours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

__all__ = [
    "BusinessTime",
    "Distribution",
    "Event",
    "LeadFacts",
    "RepFacts",
    "Stage",
    "percentile",
    "project",
    "ratio",
]

#: Business seconds between two instants for a lead of a queue (its business hours).
BusinessTime = Callable[[str | None, datetime, datetime], float]


class Stage(IntEnum):
    """The funnel's steps; a lead's stage is the furthest it has reached."""

    CAPTURED = 0
    POSTED = 1
    CLAIMED = 2
    CONTACTED = 3
    QUALIFIED = 4
    WON = 5


STAGE_LABELS: dict[Stage, str] = {
    Stage.CAPTURED: "Captured",
    Stage.POSTED: "Posted to a queue",
    Stage.CLAIMED: "Claimed",
    Stage.CONTACTED: "Contacted",
    Stage.QUALIFIED: "Qualified",
    Stage.WON: "Won",
}

#: Actors that are the bot itself, never a person responding.
BOT_ACTORS = frozenset({"sla", "system", "bot", "decay", "scheduler"})


@dataclass(frozen=True)
class Event:
    """One row of `lead_events`, as the projection reads it."""

    kind: str
    at: datetime
    actor: str = "system"
    from_state: str | None = None
    to_state: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LeadFacts:
    """One lead, as the reports see it. Every field follows from the events."""

    lead_id: int
    captured_at: datetime
    intake: str | None = None
    source: str | None = None
    grade: str | None = None
    state: str = "new"
    queue_id: str | None = None
    stage: Stage = Stage.CAPTURED
    posted_at: datetime | None = None
    first_claimed_at: datetime | None = None
    claims: int = 0
    releases: int = 0
    first_contact_at: datetime | None = None
    first_contact_by: str | None = None
    claim_seconds: int | None = None
    claim_business_seconds: int | None = None
    contact_seconds: int | None = None
    contact_business_seconds: int | None = None
    sla: str | None = None  # met | missed; None while pending or without a clock
    won_at: datetime | None = None
    lost_at: datetime | None = None
    merges: int = 0

    @property
    def spam(self) -> bool:
        return self.state == "spam"


@dataclass
class RepFacts:
    """What one rep did with one lead."""

    lead_id: int
    rep_id: str
    captured_at: datetime
    offers: int = 0
    claims: int = 0
    releases: int = 0
    timeouts: int = 0  # offers that ran out (the SLA ladder re-offered the lead)
    first_contact: bool = False
    contact_seconds: int | None = None
    contact_business_seconds: int | None = None
    sla_missed: bool = False
    won: bool = False


def _seconds(start: datetime | None, end: datetime) -> int | None:
    if start is None:
        return None
    return max(0, int((end - start).total_seconds()))


def _business(
    business: BusinessTime, queue: str | None, start: datetime | None, end: datetime
) -> int | None:
    if start is None:
        return None
    return max(0, int(business(queue, start, end)))


def _is_person(actor: str) -> bool:
    return bool(actor) and actor not in BOT_ACTORS and not actor.startswith("api-key:")


def project(
    lead_id: int,
    events: Sequence[Event],
    business: BusinessTime,
    *,
    source: str | None = None,
) -> tuple[LeadFacts, list[RepFacts]] | None:
    """The facts of one lead from its whole history, oldest event first.

    None when the history has no `captured` event (a lead is counted from its
    capture). `source` is the lead's source as stored (an attribute, not an event).
    """
    ordered = sorted(events, key=lambda e: e.at)  # stable: same-instant events keep log order
    captured = next((e for e in ordered if e.kind == "captured"), None)
    if captured is None:
        return None
    facts = LeadFacts(lead_id, captured.at, source=source)
    reps: dict[str, RepFacts] = {}
    owner: str | None = None
    offered_rep: str | None = None

    def rep(rep_id: str) -> RepFacts:
        if rep_id not in reps:
            reps[rep_id] = RepFacts(lead_id, rep_id, captured.at)
        return reps[rep_id]

    def reach(stage: Stage) -> None:
        facts.stage = max(facts.stage, stage)

    for event in ordered:
        data = event.data
        if event.to_state:
            facts.state = event.to_state
        if "grade" in data and event.kind in ("captured", "merged"):
            facts.grade = data.get("grade")
        kind = event.kind
        if kind == "captured":
            facts.intake = data.get("intake")
            facts.queue_id = data.get("queue")
            if facts.queue_id is not None:
                facts.posted_at = event.at
                reach(Stage.POSTED)
        elif kind == "routed":
            facts.queue_id = data.get("queue", facts.queue_id)
            if facts.posted_at is None:
                facts.posted_at = event.at
            reach(Stage.POSTED)
        elif kind == "merged":
            facts.merges += 1
        elif kind == "offered":
            offered_rep = data.get("rep")
            if offered_rep:
                rep(offered_rep).offers += 1
        elif kind == "offer_timeout":
            if data.get("rep"):
                rep(str(data["rep"])).timeouts += 1
        elif kind == "claimed":
            owner = event.actor
            facts.claims += 1
            rep(owner).claims += 1
            if facts.first_claimed_at is None:
                facts.first_claimed_at = event.at
                facts.claim_seconds = _seconds(facts.posted_at, event.at)
                facts.claim_business_seconds = _business(
                    business, facts.queue_id, facts.posted_at, event.at
                )
            reach(Stage.CLAIMED)
        elif kind == "released":
            facts.releases += 1
            released = data.get("rep") or owner
            if released:
                rep(str(released)).releases += 1
            owner = None
        elif kind == "first_contact" and facts.first_contact_at is None and _is_person(event.actor):
            facts.first_contact_at = event.at
            facts.first_contact_by = event.actor
            facts.contact_seconds = _seconds(facts.posted_at, event.at)
            facts.contact_business_seconds = _business(
                business, facts.queue_id, facts.posted_at, event.at
            )
            contact = rep(event.actor)
            contact.first_contact = True
            contact.contact_seconds = facts.contact_seconds
            contact.contact_business_seconds = facts.contact_business_seconds
            reach(Stage.CONTACTED)
        elif kind in ("sla_met", "sla_missed") and facts.sla is None:
            facts.sla = "met" if kind == "sla_met" else "missed"
            responsible = owner or offered_rep
            if kind == "sla_missed" and responsible:
                rep(responsible).sla_missed = True
        elif kind == "contacted":
            reach(Stage.CONTACTED)
        elif kind == "qualified":
            reach(Stage.QUALIFIED)
        elif kind == "won":
            facts.won_at = facts.won_at or event.at
            reach(Stage.WON)
            winner = owner or (event.actor if _is_person(event.actor) else None)
            if winner:
                rep(winner).won = True
        elif kind == "lost":
            facts.lost_at = facts.lost_at or event.at
    if facts.spam:  # spam counts for no rep: without rows, the reps report needs no join
        return facts, []
    return facts, sorted(reps.values(), key=lambda r: r.rep_id)


# ---------------------------------------------------------------- aggregation


def percentile(counts: Mapping[int, int], p: float) -> int | None:
    """The nearest-rank p-th percentile (0 < p <= 100) of values given as value → count.

    The smallest value v with at least p % of all values <= v; None when empty.
    """
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    total = sum(c for c in counts.values() if c > 0)
    if total == 0:
        return None
    rank = -(-total * p // 100)  # ceil(total * p / 100), at least 1
    rank = max(1, int(rank))
    seen = 0
    for value in sorted(counts):
        seen += max(0, counts[value])
        if seen >= rank:
            return value
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Distribution:
    """A duration's median and p90 over some leads, and how many had one."""

    count: int
    median: int | None
    p90: int | None

    @classmethod
    def of(cls, counts: Mapping[int, int]) -> Distribution:
        return cls(sum(counts.values()), percentile(counts, 50), percentile(counts, 90))

    @classmethod
    def of_values(cls, values: Iterable[int]) -> Distribution:
        counts: dict[int, int] = {}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        return cls.of(counts)


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by (shown as "–")."""
    return part / whole if whole else None
