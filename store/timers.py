"""Durable deadlines (`timers`): scheduled in the transaction that creates the need,
cancelled in the one that removes it, and fired at most once across replicas.

Firing is a claim: one statement moves due rows from `pending` to `fired` and
returns only the rows it moved, inside the transaction that also does what the
step does (events, outbox rows). So a step's effects and its `fired` mark commit
together or not at all: a crash before the commit leaves the row pending, to be
fired once after the restart; two replicas never both move the same row
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, where the second replica simply skips
rows the first holds; SQLite runs write transactions one at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Timer

PENDING, FIRED, CANCELLED = "pending", "fired", "cancelled"
_INSERT = insert(cast(Table, Timer.__table__))


async def schedule(
    session: AsyncSession,
    *,
    lead_id: int | None,
    kind: str,
    steps: Iterable[tuple[int, datetime]],
    payload: dict[str, object] | None = None,
) -> None:
    """Add a pending timer per (step, due_at): one prebuilt Core insert for all of them."""
    rows = [
        {
            "kind": kind,
            "lead_id": lead_id,
            "step": step,
            "due_at": due_at,
            "status": PENDING,
            "payload": dict(payload or {}),
        }
        for step, due_at in steps
    ]
    if rows:
        await session.execute(_INSERT, rows)


async def cancel(
    session: AsyncSession, *, lead_id: int, kind: str, steps: Sequence[int] | None = None
) -> int:
    """Cancel the lead's pending timers of `kind` (only `steps`, when given); how many.

    A timer that a `claim_due` is firing right now (PostgreSQL: its row is locked) is
    skipped, not waited for: that step's transaction goes on to lock this lead, which the
    caller holds, so waiting would deadlock. It acts, or not, on the lead as the caller
    leaves it (`bot.sla.SlaClock.fire_due` reads its leads under a lock)."""
    cancellable = select(Timer.id).where(
        Timer.lead_id == lead_id, Timer.kind == kind, Timer.status == PENDING
    )
    if steps is not None:
        if not steps:
            return 0
        cancellable = cancellable.where(Timer.step.in_(list(steps)))
    query = update(Timer).where(
        Timer.id.in_(cancellable.with_for_update(skip_locked=True)), Timer.status == PENDING
    )
    result = await session.execute(
        query.values(status=CANCELLED).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def claim_due(
    session: AsyncSession, *, now: datetime, kinds: Sequence[str], limit: int = 200
) -> list[Timer]:
    """Mark up to `limit` due pending timers fired and return them, oldest due first.

    Only rows this call moved are returned, so a row is handed out once however
    many replicas ask at the same moment.
    """
    due = (
        select(Timer.id)
        .where(Timer.status == PENDING, Timer.due_at <= now, Timer.kind.in_(list(kinds)))
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(await session.scalars(due))
    if not ids:
        return []
    moved = await session.scalars(
        update(Timer)
        .where(Timer.id.in_(ids), Timer.status == PENDING)
        .values(status=FIRED, fired_at=now)
        .returning(Timer)
        .execution_options(synchronize_session=False)
    )
    return sorted(moved, key=lambda t: (t.due_at, t.id))


async def next_due(session: AsyncSession, *, kinds: Sequence[str]) -> datetime | None:
    """When the earliest pending timer of these kinds is due (None: nothing pending)."""
    due: datetime | None = await session.scalar(
        select(func.min(Timer.due_at)).where(Timer.status == PENDING, Timer.kind.in_(list(kinds)))
    )
    return due


async def pending_of(session: AsyncSession, lead_id: int, kind: str) -> list[Timer]:
    rows = await session.scalars(
        select(Timer)
        .where(Timer.lead_id == lead_id, Timer.kind == kind, Timer.status == PENDING)
        .order_by(Timer.step)
    )
    return list(rows)
