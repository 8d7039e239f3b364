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
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lead import OWNED_OPEN_STATES
from store.models import Lead, Queue, QueueMember, Rep, RepEvent

# An offer's statements, built once (building them cost more CPU than running them).
_QUEUE = select(Queue).where(Queue.id == bindparam("queue"))
_QUEUE_LOCKED = _QUEUE.with_for_update(key_share=True)
_open_counts = (
    select(Lead.owner_id, func.count().label("n"))
    .where(Lead.state.in_([s.value for s in OWNED_OPEN_STATES]), Lead.owner_id.is_not(None))
    .group_by(Lead.owner_id)
    .subquery()
)
_MEMBERS = (  # MemberState's fields, in order
    select(
        QueueMember.rep_id,
        QueueMember.position,
        Rep.weight,
        Rep.capacity,
        Rep.away,
        QueueMember.earned,
        QueueMember.offers_count,
        QueueMember.last_offered_at,
        func.coalesce(_open_counts.c.n, 0),
    )
    .join(Rep, Rep.id == QueueMember.rep_id)
    .outerjoin(_open_counts, _open_counts.c.owner_id == QueueMember.rep_id)
    .where(QueueMember.queue_id == bindparam("queue"), Rep.active.is_(True))
    .order_by(QueueMember.position)
)
_members = cast(Table, QueueMember.__table__)
_member = (_members.c.queue_id == bindparam("b_queue")) & (_members.c.rep_id == bindparam("b_rep"))
_CREDIT = update(_members).where(_member).values(earned=_members.c.earned + bindparam("b_share"))
_CREDIT_OFFERED = (
    update(_members)
    .where(_member)
    .values(
        earned=_members.c.earned + bindparam("b_share"),
        offers_count=_members.c.offers_count + 1,
        last_offered_at=bindparam("b_at", type_=_members.c.last_offered_at.type),
    )
)


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
    locked = session.get_bind().dialect.name == "postgresql"
    queue = await session.scalar(_QUEUE_LOCKED if locked else _QUEUE, {"queue": queue_id})
    if queue is None:
        raise KeyError(f"no queue {queue_id!r}")
    return queue


async def is_member(session: AsyncSession, queue_id: str, rep_id: str) -> bool:
    found = await session.scalar(
        select(QueueMember.rep_id).where(
            QueueMember.queue_id == queue_id, QueueMember.rep_id == rep_id
        )
    )
    return found is not None


async def members(session: AsyncSession, queue_id: str) -> list[MemberState]:
    """The queue's active reps in rotation order, with their open-lead counts."""
    rows = await session.execute(_MEMBERS, {"queue": queue_id})
    return [MemberState(*row) for row in rows]  # `_MEMBERS` selects its fields in order


async def record_choice(
    session: AsyncSession,
    *,
    queue_id: str,
    shares: Mapping[str, float],
    chosen: str | None,
    now: datetime,
) -> None:
    """Credit each available rep their share of this lead; count the offer to `chosen`."""
    credits = [
        {"b_queue": queue_id, "b_rep": rep_id, "b_share": share}
        for rep_id, share in shares.items()
        if rep_id != chosen
    ]
    if credits:
        await session.execute(_CREDIT, credits)
    if chosen is not None and chosen in shares:
        await session.execute(
            _CREDIT_OFFERED,
            {"b_queue": queue_id, "b_rep": chosen, "b_share": shares[chosen], "b_at": now},
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
