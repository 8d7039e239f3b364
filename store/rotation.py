"""Round-robin state per queue: who is in it, what each rep is owed, who is away.

Callers own the session. An offer reads the members and writes the balances in
one transaction that first takes the queue's lock (`lock_queue`), so two
replicas offering leads of one queue at once take turns and never both choose
from the same balances.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lead import OWNED_OPEN_STATES
from store.models import Lead, Queue, QueueMember, Rep, RepEvent


@dataclass(frozen=True)
class MemberState:
    """A queue member's stored rotation state, with what availability needs."""

    rep_id: str
    position: int
    weight: int
    capacity: int
    away: bool
    earned: float
    offers: int
    last_offered_at: datetime | None
    open_leads: int


async def lock_queue(session: AsyncSession, queue_id: str) -> Queue:
    """The queue, its row held until the transaction ends (PostgreSQL).

    `FOR NO KEY UPDATE`, not `FOR UPDATE`: a capture has already inserted its lead,
    whose foreign key to the queue holds `FOR KEY SHARE` on this row, and two
    captures each upgrading that to `FOR UPDATE` would deadlock
    (tests/store/test_two_replicas.py). SQLite needs no lock: its write
    transactions begin IMMEDIATE and so run one at a time. KeyError when there
    is no such queue.
    """
    query = select(Queue).where(Queue.id == queue_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    queue = await session.scalar(query)
    if queue is None:
        raise KeyError(f"no queue {queue_id!r}")
    return queue


async def channel_of(session: AsyncSession, queue_id: str) -> str | None:
    return await session.scalar(select(Queue.channel_id).where(Queue.id == queue_id))


async def is_member(session: AsyncSession, queue_id: str, rep_id: str) -> bool:
    found = await session.scalar(
        select(QueueMember.rep_id).where(
            QueueMember.queue_id == queue_id, QueueMember.rep_id == rep_id
        )
    )
    return found is not None


async def members(session: AsyncSession, queue_id: str) -> list[MemberState]:
    """The queue's active reps in rotation order, with their open-lead counts."""
    open_counts = (
        select(Lead.owner_id, func.count().label("n"))
        .where(Lead.state.in_([s.value for s in OWNED_OPEN_STATES]), Lead.owner_id.is_not(None))
        .group_by(Lead.owner_id)
        .subquery()
    )
    rows = await session.execute(
        select(QueueMember, Rep, func.coalesce(open_counts.c.n, 0))
        .join(Rep, Rep.id == QueueMember.rep_id)
        .outerjoin(open_counts, open_counts.c.owner_id == QueueMember.rep_id)
        .where(QueueMember.queue_id == queue_id, Rep.active.is_(True))
        .order_by(QueueMember.position)
    )
    return [
        MemberState(
            rep_id=member.rep_id,
            position=member.position,
            weight=rep.weight,
            capacity=rep.capacity,
            away=rep.away,
            earned=member.earned,
            offers=member.offers_count,
            last_offered_at=member.last_offered_at,
            open_leads=int(n),
        )
        for member, rep, n in rows.all()
    ]


async def record_choice(
    session: AsyncSession,
    *,
    queue_id: str,
    shares: Mapping[str, float],
    chosen: str | None,
    now: datetime,
) -> None:
    """Credit each available rep their share of this lead; count the offer to `chosen`."""
    for rep_id, share in shares.items():
        values: dict[str, object] = {"earned": QueueMember.earned + share}
        if rep_id == chosen:
            values.update(offers_count=QueueMember.offers_count + 1, last_offered_at=now)
        await session.execute(
            update(QueueMember)
            .where(QueueMember.queue_id == queue_id, QueueMember.rep_id == rep_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


async def set_away(session: AsyncSession, rep_id: str, *, away: bool, now: datetime) -> bool | None:
    """Mark a rep away or back, with a rep event when that changes anything.

    The previous value, or None when they are not a rep.
    """
    was = await session.scalar(select(Rep.away).where(Rep.id == rep_id, Rep.active.is_(True)))
    if was is None:
        return None
    if bool(was) != away:
        await session.execute(
            update(Rep).where(Rep.id == rep_id).values(away=away, away_since=now if away else None)
        )
        session.add(RepEvent(rep_id=rep_id, kind="away" if away else "back", at=now, data={}))
        await session.flush()
    return bool(was)


async def rep_queues(session: AsyncSession, rep_id: str) -> list[str]:
    """Ids of the queues the rep is a member of."""
    rows = await session.scalars(
        select(QueueMember.queue_id)
        .where(QueueMember.rep_id == rep_id)
        .order_by(QueueMember.queue_id)
    )
    return list(rows)
