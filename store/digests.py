"""Recurring digests (`digests`) and the event counts they report.

A due digest is taken by moving its `next_run_at` forward with a conditional
UPDATE (`WHERE next_run_at = <the value read>`): of two replicas that read the
same due row only one moves it, and only that one enqueues the post, in the
same transaction. On PostgreSQL `FOR UPDATE SKIP LOCKED` also keeps the second
replica from waiting on rows the first holds; SQLite runs writers one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Digest, LeadEvent


async def add_digest(
    session: AsyncSession,
    *,
    channel_id: str,
    cadence: str,
    at_hour: int,
    weekday: int | None,
    timezone: str,
    created_by: str,
    next_run_at: datetime,
    period: str = "since-last",
) -> Digest:
    digest = Digest(
        channel_id=channel_id,
        report="summary",
        period=period,
        cadence=cadence,
        at_hour=at_hour,
        weekday=weekday,
        timezone=timezone,
        created_by=created_by,
        next_run_at=next_run_at,
        last_run_at=None,
        active=True,
    )
    session.add(digest)
    await session.flush()
    return digest


async def active_digests(session: AsyncSession) -> list[Digest]:
    rows = await session.scalars(select(Digest).where(Digest.active.is_(True)).order_by(Digest.id))
    return list(rows)


async def stop_digest(session: AsyncSession, digest_id: int) -> Digest | None:
    """Deactivate an active digest; the digest as it was, or None if there was none."""
    stopped = await session.scalars(
        update(Digest)
        .where(Digest.id == digest_id, Digest.active.is_(True))
        .values(active=False)
        .returning(Digest)
        .execution_options(synchronize_session=False)
    )
    return stopped.one_or_none()


async def due_digests(session: AsyncSession, *, now: datetime, limit: int) -> list[Digest]:
    """Active digests due at `now`, earliest first (rows other replicas hold are skipped)."""
    rows = await session.scalars(
        select(Digest)
        .where(Digest.active.is_(True), Digest.next_run_at <= now)
        .order_by(Digest.next_run_at, Digest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def take_run(
    session: AsyncSession,
    *,
    digest_id: int,
    was_due: datetime,
    next_run_at: datetime,
    now: datetime,
) -> bool:
    """Move a due digest to its next run if nobody has since; True if this call did."""
    moved = await session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.next_run_at == was_due, Digest.active.is_(True))
        .values(next_run_at=next_run_at, last_run_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(moved.rowcount) == 1  # type: ignore[attr-defined]


async def event_counts(
    session: AsyncSession, *, kinds: Iterable[str], start: datetime, end: datetime
) -> Sequence[tuple[str, str | None, int]]:
    """How many events of each (kind, to_state) happened in [start, end)."""
    rows = await session.execute(
        select(LeadEvent.kind, LeadEvent.to_state, func.count())
        .where(LeadEvent.kind.in_(sorted(kinds)), LeadEvent.at >= start, LeadEvent.at < end)
        .group_by(LeadEvent.kind, LeadEvent.to_state)
    )
    return [(kind, to_state, int(count)) for kind, to_state, count in rows]
