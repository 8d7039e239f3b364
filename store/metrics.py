"""Queries behind the reports: the event projection's bookkeeping and the grouped reads.

Every read groups in the database and returns small rows (one per group, or one
per distinct duration), so a report over a month of a million-lead history moves
hundreds of rows, not tens of thousands. The cohort is always the leads captured
in [start, end), spam excluded unless asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Integer, Table, and_, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.metrics import Event, LeadFacts, RepFacts
from store.models import Lead, LeadEvent, LeadFact, LeadRepFact, SourceCost

#: Bound parameters per statement stay well under SQLite's limit.
CHUNK = 900

_UNPROJECTED = text("NOT lead_events.projected")
_INT = Integer()


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


# ---------------------------------------------------------------- the projection


async def unprojected_leads(session: AsyncSession, limit: int) -> list[int]:
    """Leads with events not yet folded into their facts (a partial index answers this)."""
    rows = await session.execute(
        select(LeadEvent.lead_id).where(_UNPROJECTED).distinct().limit(limit)
    )
    return [r[0] for r in rows]


async def last_unprojected_event(session: AsyncSession) -> int | None:
    """The id of the newest event not yet folded into its lead's facts (None: all are)."""
    return await session.scalar(select(func.max(LeadEvent.id)).where(_UNPROJECTED))


async def unprojected_up_to(session: AsyncSession, event_id: int) -> bool:
    """Whether an event up to `event_id` is still unprojected."""
    found = await session.scalar(
        select(LeadEvent.id).where(_UNPROJECTED, LeadEvent.id <= event_id).limit(1)
    )
    return found is not None


async def lock_leads(session: AsyncSession, lead_ids: Sequence[int]) -> list[int]:
    """The leads this transaction may project now.

    On PostgreSQL each lead row is locked (skipping any another transaction
    holds), so two replicas never write one lead's facts from different
    snapshots; the events are read after the lock, so they include every event
    committed before it. SQLite runs one write transaction at a time already.
    """
    if session.get_bind().dialect.name != "postgresql" or not lead_ids:
        return list(lead_ids)
    rows = await session.execute(
        select(Lead.id)
        .where(Lead.id.in_(sorted(lead_ids)))
        .order_by(Lead.id)
        .with_for_update(key_share=True, skip_locked=True)  # FOR NO KEY UPDATE
    )
    return [r[0] for r in rows]


async def histories(
    session: AsyncSession, lead_ids: Sequence[int]
) -> tuple[dict[int, list[Event]], list[int]]:
    """Each lead's events in log order, and the ids of every event read."""
    events: dict[int, list[Event]] = defaultdict(list)
    read: list[int] = []
    for chunk in _chunks(list(lead_ids)):
        rows = await session.execute(
            select(
                LeadEvent.id,
                LeadEvent.lead_id,
                LeadEvent.kind,
                LeadEvent.at,
                LeadEvent.actor,
                LeadEvent.from_state,
                LeadEvent.to_state,
                LeadEvent.data,
            )
            .where(LeadEvent.lead_id.in_(chunk))
            .order_by(LeadEvent.lead_id, LeadEvent.id)
        )
        for event_id, lead_id, kind, at, actor, from_state, to_state, data in rows:
            read.append(event_id)
            events[lead_id].append(Event(kind, at, actor, from_state, to_state, data or {}))
    return events, read


async def sources(session: AsyncSession, lead_ids: Sequence[int]) -> dict[int, str | None]:
    found: dict[int, str | None] = {}
    for chunk in _chunks(list(lead_ids)):
        rows = await session.execute(select(Lead.id, Lead.source).where(Lead.id.in_(chunk)))
        found.update({lead_id: source for lead_id, source in rows})
    return found


async def replace_facts(
    session: AsyncSession,
    lead_ids: Sequence[int],
    leads: Sequence[LeadFacts],
    reps: Sequence[RepFacts],
) -> None:
    """Swap these leads' facts for freshly projected ones."""
    for chunk in _chunks(list(lead_ids)):
        await session.execute(delete(LeadRepFact).where(LeadRepFact.lead_id.in_(chunk)))
        await session.execute(delete(LeadFact).where(LeadFact.lead_id.in_(chunk)))
    if leads:
        await session.execute(
            insert(cast(Table, LeadFact.__table__)),
            [{**_values(f), "stage": int(f.stage)} for f in leads],
        )
    if reps:
        await session.execute(
            insert(cast(Table, LeadRepFact.__table__)), [_values(r) for r in reps]
        )


def _values(facts: LeadFacts | RepFacts) -> dict[str, Any]:
    """The facts' fields as insert values: flat scalars, so no `asdict` deep copy (which
    cost the projector more than its inserts)."""
    return {f.name: getattr(facts, f.name) for f in fields(facts)}


async def mark_projected(session: AsyncSession, event_ids: Sequence[int]) -> None:
    """Exactly the events read: one committed after the read stays for the next pass."""
    for chunk in _chunks(list(event_ids)):
        await session.execute(
            update(LeadEvent)
            .where(LeadEvent.id.in_(chunk), _UNPROJECTED)  # most of a history already is
            .values(projected=True)
            .execution_options(synchronize_session=False)
        )


# ---------------------------------------------------------------- report reads


def _cohort(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _not_spam() -> ColumnElement[bool]:
    return LeadFact.state != "spam"


async def cohort_groups(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str | None, str, int, str | None, int]]:
    """(grade, state, stage, sla, leads) over the cohort, spam included (state says so)."""
    rows = await session.execute(
        select(LeadFact.grade, LeadFact.state, LeadFact.stage, LeadFact.sla, func.count())
        .where(_cohort(LeadFact.captured_at, start, end))
        .group_by(LeadFact.grade, LeadFact.state, LeadFact.stage, LeadFact.sla)
    )
    return [(g, s, int(st), sla, int(n)) for g, s, st, sla, n in rows]


async def duration_counts(
    session: AsyncSession, column_name: str, start: datetime, end: datetime
) -> dict[int, int]:
    """value → leads for one duration column of `lead_facts` over the cohort (spam excluded)."""
    column = getattr(LeadFact, column_name)
    rows = await session.execute(
        select(column, func.count())
        .where(_cohort(LeadFact.captured_at, start, end), _not_spam(), column.is_not(None))
        .group_by(column)
    )
    return {int(value): int(n) for value, n in rows}


async def source_groups(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str | None, str | None, int, int]]:
    """(source, grade, stage, leads) over the cohort, spam excluded."""
    rows = await session.execute(
        select(LeadFact.source, LeadFact.grade, LeadFact.stage, func.count())
        .where(_cohort(LeadFact.captured_at, start, end), _not_spam())
        .group_by(LeadFact.source, LeadFact.grade, LeadFact.stage)
    )
    return [(src, g, int(st), int(n)) for src, g, st, n in rows]


async def rep_groups(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, int, int, int, int, int, int]]:
    """Per rep over the cohort: (rep, offered, claimed, released, first contacts, SLA misses,
    won), each a count of leads. Spam leads have no rep rows (bot/domain/metrics.py)."""
    offered = func.sum(func.cast(LeadRepFact.offers > 0, _INT))
    claimed = func.sum(func.cast(LeadRepFact.claims > 0, _INT))
    released = func.sum(func.cast(LeadRepFact.releases > 0, _INT))
    contacted = func.sum(func.cast(LeadRepFact.first_contact, _INT))
    missed = func.sum(func.cast(LeadRepFact.sla_missed, _INT))
    won = func.sum(func.cast(LeadRepFact.won, _INT))
    rows = await session.execute(
        select(LeadRepFact.rep_id, offered, claimed, released, contacted, missed, won)
        .where(_cohort(LeadRepFact.captured_at, start, end))  # spam leads have no rep rows
        .group_by(LeadRepFact.rep_id)
    )
    return [(rep, *(int(v or 0) for v in values)) for rep, *values in rows]


async def rep_duration_counts(
    session: AsyncSession, column_name: str, start: datetime, end: datetime
) -> dict[str, dict[int, int]]:
    """rep → (value → leads) for the rep's first contacts over the cohort."""
    column = getattr(LeadRepFact, column_name)
    rows = await session.execute(
        select(LeadRepFact.rep_id, column, func.count())
        .where(_cohort(LeadRepFact.captured_at, start, end), column.is_not(None))
        .group_by(LeadRepFact.rep_id, column)
    )
    found: dict[str, dict[int, int]] = defaultdict(dict)
    for rep, value, n in rows:
        found[rep][int(value)] = int(n)
    return dict(found)


async def costs_overlapping(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime, Decimal]]:
    rows = await session.execute(
        select(SourceCost.source, SourceCost.period_start, SourceCost.period_end, SourceCost.amount)
        .where(SourceCost.period_start < end, SourceCost.period_end > start)
        .order_by(SourceCost.id)
    )
    return [(s, a, b, Decimal(amount)) for s, a, b, amount in rows]


async def set_cost(
    session: AsyncSession,
    *,
    source: str,
    start: datetime,
    end: datetime,
    amount: Decimal,
    by: str,
    now: datetime,
) -> bool:
    """Record spend on a source over [start, end); replaces an entry for the same span.
    True when it replaced one."""
    replaced = await session.execute(
        delete(SourceCost).where(
            SourceCost.source == source,
            SourceCost.period_start == start,
            SourceCost.period_end == end,
        )
    )
    session.add(
        SourceCost(
            source=source,
            period_start=start,
            period_end=end,
            amount=amount,
            created_by=by,
            created_at=now,
        )
    )
    await session.flush()
    return bool(replaced.rowcount)  # type: ignore[attr-defined]
