"""Mirror the configured queues and reps into the database.

The config file is the source of truth for who is in which queue; the
database keeps the runtime state (away, round-robin positions) that must
survive restarts, so a sync updates names and membership but never that state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Queue, QueueMember, Rep


@dataclass(frozen=True)
class RepRow:
    id: str
    name: str
    timezone: str
    capacity: int
    weight: int


@dataclass(frozen=True)
class QueueRow:
    id: str
    name: str
    channel_id: str
    is_default: bool
    exclusivity_seconds: int
    rep_ids: tuple[str, ...]


async def sync_directory(
    session: AsyncSession, reps: Sequence[RepRow], queues: Sequence[QueueRow]
) -> None:
    known_reps = {r.id: r for r in await session.scalars(select(Rep))}
    for rep in reps:
        row = known_reps.get(rep.id)
        if row is None:
            session.add(
                Rep(
                    id=rep.id,
                    name=rep.name,
                    timezone=rep.timezone,
                    capacity=rep.capacity,
                    weight=rep.weight,
                    away=False,
                    active=True,
                )
            )
        else:
            row.name, row.timezone, row.capacity, row.weight, row.active = (
                rep.name,
                rep.timezone,
                rep.capacity,
                rep.weight,
                True,
            )
    configured = {r.id for r in reps}
    await session.execute(update(Rep).where(Rep.id.not_in(configured)).values(active=False))

    known_queues = {q.id: q for q in await session.scalars(select(Queue))}
    for queue in queues:
        qrow = known_queues.get(queue.id)
        if qrow is None:
            session.add(
                Queue(
                    id=queue.id,
                    name=queue.name,
                    channel_id=queue.channel_id,
                    is_default=queue.is_default,
                    exclusivity_seconds=queue.exclusivity_seconds,
                )
            )
        else:
            qrow.name, qrow.channel_id, qrow.is_default, qrow.exclusivity_seconds = (
                queue.name,
                queue.channel_id,
                queue.is_default,
                queue.exclusivity_seconds,
            )
    await session.flush()

    for queue in queues:
        members = {
            m.rep_id: m
            for m in await session.scalars(
                select(QueueMember).where(QueueMember.queue_id == queue.id)
            )
        }
        for position, rep_id in enumerate(queue.rep_ids):
            member = members.pop(rep_id, None)
            if member is None:
                session.add(
                    QueueMember(queue_id=queue.id, rep_id=rep_id, position=position, offers_count=0)
                )
            else:
                member.position = position
        if members:
            await session.execute(
                delete(QueueMember).where(
                    QueueMember.queue_id == queue.id, QueueMember.rep_id.in_(list(members))
                )
            )
    await session.flush()
