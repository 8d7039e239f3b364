"""The reports' numbers from grouped fact rows (see store/metrics.py). Pure.

Each builder takes the small grouped rows the store returns and applies the
definitions of `docs/metrics.md`: the cohort is the leads captured in the
period, spam counted apart and excluded from everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from bot.domain.metrics import STAGE_LABELS, Distribution, Stage, ratio

__all__ = [
    "FunnelStep",
    "RepLine",
    "ResponseTimes",
    "SourceLine",
    "Summary",
    "funnel",
    "prorated_costs",
    "rep_lines",
    "source_lines",
    "summarize",
]

GRADES = ("SQL", "MQL", "IQL")
STATE_ORDER = (
    "new",
    "offered",
    "claimed",
    "contacted",
    "qualified",
    "won",
    "lost",
    "nurture",
)
NO_SOURCE = "(none)"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ResponseTimes:
    """Wall-clock and business-hours distributions of one response time."""

    wall: Distribution
    business: Distribution


@dataclass(frozen=True)
class Summary:
    captured: int
    spam: int
    by_grade: dict[str, int]  # GRADES plus "ungraded", only non-zero ones
    by_state: dict[str, int]
    posted: int
    won: int
    conversion: float | None  # won / captured
    sql: int
    sql_rate: float | None  # SQL-graded / captured
    sla_met: int
    sla_missed: int
    sla_rate: float | None  # met / (met + missed)
    not_contacted: int  # posted, never contacted by a person
    claim: ResponseTimes
    contact: ResponseTimes


def summarize(
    groups: Iterable[tuple[str | None, str, int, str | None, int]],
    durations: Mapping[str, Mapping[int, int]],
) -> Summary:
    """`groups`: (grade, state, stage, sla, leads); `durations`: column → (seconds → leads)."""
    captured = spam = posted = won = sql = met = missed = not_contacted = 0
    by_grade: dict[str, int] = {}
    by_state: dict[str, int] = {}
    for grade, state, stage, sla, count in groups:
        if state == "spam":
            spam += count
            continue
        captured += count
        key = grade if grade in GRADES else "ungraded"
        by_grade[key] = by_grade.get(key, 0) + count
        by_state[state] = by_state.get(state, 0) + count
        if stage >= Stage.POSTED:
            posted += count
            if stage < Stage.CONTACTED:
                not_contacted += count
        if stage >= Stage.WON:
            won += count
        if grade == "SQL":
            sql += count
        if sla == "met":
            met += count
        elif sla == "missed":
            missed += count

    def dist(column: str) -> Distribution:
        return Distribution.of(durations.get(column, {}))

    order = {s: i for i, s in enumerate(STATE_ORDER)}
    return Summary(
        captured=captured,
        spam=spam,
        by_grade={g: by_grade[g] for g in (*GRADES, "ungraded") if by_grade.get(g)},
        by_state=dict(sorted(by_state.items(), key=lambda kv: order.get(kv[0], len(order)))),
        posted=posted,
        won=won,
        conversion=ratio(won, captured),
        sql=sql,
        sql_rate=ratio(sql, captured),
        sla_met=met,
        sla_missed=missed,
        sla_rate=ratio(met, met + missed),
        not_contacted=not_contacted,
        claim=ResponseTimes(dist("claim_seconds"), dist("claim_business_seconds")),
        contact=ResponseTimes(dist("contact_seconds"), dist("contact_business_seconds")),
    )


@dataclass(frozen=True)
class FunnelStep:
    stage: Stage
    label: str
    leads: int  # leads that reached this step or a later one
    from_previous: float | None  # leads / previous step's leads
    from_captured: float | None


def funnel(groups: Iterable[tuple[str | None, str, int, str | None, int]]) -> list[FunnelStep]:
    """Counts per step from capture to won: a lead counts at every step up to its furthest."""
    at_stage = dict.fromkeys(Stage, 0)
    for _grade, state, stage, _sla, count in groups:
        if state != "spam":
            at_stage[Stage(stage)] += count
    steps: list[FunnelStep] = []
    reached = sum(at_stage.values())
    captured = reached
    previous: int | None = None
    for stage in Stage:
        steps.append(
            FunnelStep(
                stage,
                STAGE_LABELS[stage],
                reached,
                ratio(reached, previous) if previous is not None else None,
                ratio(reached, captured),
            )
        )
        previous = reached
        reached -= at_stage[stage]
    return steps


def prorated_costs(
    costs: Iterable[tuple[str, datetime, datetime, Decimal]], start: datetime, end: datetime
) -> dict[str, Decimal]:
    """Spend per source within [start, end): each entry's amount times the share of its span
    that falls inside the period, to the cent."""
    spent: dict[str, Decimal] = {}
    for source, begin, finish, amount in costs:
        span = (finish - begin).total_seconds()
        inside = (min(finish, end) - max(begin, start)).total_seconds()
        if span <= 0 or inside <= 0:
            continue
        share = amount * Decimal(inside) / Decimal(span)
        spent[source] = spent.get(source, Decimal(0)) + share
    return {s: v.quantize(CENT, rounding=ROUND_HALF_UP) for s, v in spent.items()}


@dataclass(frozen=True)
class SourceLine:
    source: str
    leads: int
    sql: int
    sql_rate: float | None
    won: int
    conversion: float | None
    cost: Decimal | None
    cost_per_conversion: Decimal | None


def source_lines(
    groups: Iterable[tuple[str | None, str | None, int, int]], costs: Mapping[str, Decimal]
) -> list[SourceLine]:
    """`groups`: (source, grade, stage, leads), spam excluded. Most leads first; sources with
    spend but no leads are listed too (their cost is real)."""
    leads: dict[str, int] = {}
    sql: dict[str, int] = {}
    won: dict[str, int] = {}
    for source, grade, stage, count in groups:
        key = source or NO_SOURCE
        leads[key] = leads.get(key, 0) + count
        if grade == "SQL":
            sql[key] = sql.get(key, 0) + count
        if stage >= Stage.WON:
            won[key] = won.get(key, 0) + count
    for source in costs:
        leads.setdefault(source, 0)
    lines = []
    for source, count in leads.items():
        cost = costs.get(source)
        w = won.get(source, 0)
        per = (cost / w).quantize(CENT, rounding=ROUND_HALF_UP) if cost is not None and w else None
        lines.append(
            SourceLine(
                source,
                count,
                sql.get(source, 0),
                ratio(sql.get(source, 0), count),
                w,
                ratio(w, count),
                cost,
                per,
            )
        )
    return sorted(lines, key=lambda line: (-line.leads, line.source))


@dataclass(frozen=True)
class RepLine:
    rep_id: str
    offered: int
    claimed: int
    released: int
    first_contacts: int
    response: ResponseTimes
    sla_missed: int
    won: int


def rep_lines(
    groups: Sequence[tuple[str, int, int, int, int, int, int]],
    wall: Mapping[str, Mapping[int, int]],
    business: Mapping[str, Mapping[int, int]],
) -> list[RepLine]:
    """`groups`: (rep, offered, claimed, released, first contacts, SLA misses, won) in leads;
    response times are each rep's first contacts. Most won first, then most claimed."""
    lines = [
        RepLine(
            rep,
            offered,
            claimed,
            released,
            contacts,
            ResponseTimes(
                Distribution.of(wall.get(rep, {})), Distribution.of(business.get(rep, {}))
            ),
            missed,
            won,
        )
        for rep, offered, claimed, released, contacts, missed, won in groups
    ]
    return sorted(lines, key=lambda r: (-r.won, -r.claimed, r.rep_id))
