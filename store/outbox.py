"""The transactional outbox: durable intents to call Slack, leased to one worker at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OutboxMessage

_INSERT = insert(cast(Table, OutboxMessage.__table__))


def pending_values(
    *,
    kind: str,
    ordering_key: str,
    now: datetime,
    lead_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pending row's column values."""
    return {
        "kind": kind,
        "ordering_key": ordering_key,
        "lead_id": lead_id,
        "payload": payload or {},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def new_row(**fields: Any) -> OutboxMessage:
    """A pending row (`pending_values`' arguments), not yet added."""
    return OutboxMessage(**pending_values(**fields))


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    ordering_key: str,
    now: datetime,
    lead_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Add a pending row (one prebuilt Core insert, no flush); it commits with the caller's
    transaction, so rows of one key keep the order they were enqueued in (their ids)."""
    row = pending_values(
        kind=kind, ordering_key=ordering_key, now=now, lead_id=lead_id, payload=payload
    )
    await enqueue_many(session, [row])


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add `pending_values` rows with one statement; their ids (so each key's order) follow
    the list's order."""
    if rows:
        await session.execute(_INSERT, rows)


async def lease_due(
    session: AsyncSession, *, owner: str, now: datetime, lease: timedelta, limit: int = 100
) -> list[OutboxMessage]:
    """Lease pending rows that are due, keeping each ordering key in id order.

    A row is eligible only if no earlier pending row of its key is waiting
    (backing off) or leased by someone else: so a channel's cards never overtake
    each other. `SKIP LOCKED` keeps replicas from queueing on the same rows on
    PostgreSQL; the conditional lease update is what makes it correct everywhere.
    """
    # The rows that hold back their key's later rows: leased, or backing off. Few (what is
    # in flight), so their first id per key is a small table to join, where a correlated
    # "no earlier blocking row" test per candidate was quadratic in a long queue.
    blockers = (
        select(
            OutboxMessage.ordering_key.label("key"), func.min(OutboxMessage.id).label("first_id")
        )
        .where(
            OutboxMessage.status == "pending",
            or_(
                OutboxMessage.next_attempt_at > now,
                and_(OutboxMessage.lease_until.is_not(None), OutboxMessage.lease_until >= now),
            ),
        )
        .group_by(OutboxMessage.ordering_key)
        .subquery()
    )
    candidates = (
        select(OutboxMessage.id)
        .outerjoin(blockers, blockers.c.key == OutboxMessage.ordering_key)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            or_(blockers.c.first_id.is_(None), OutboxMessage.id < blockers.c.first_id),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    ids = list(await session.scalars(candidates))
    if not ids:
        return []
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + lease, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.lease_owner == owner)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


_outbox = cast(Table, OutboxMessage.__table__)
_MARK_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"), _outbox.c.lease_owner == bindparam("b_owner"))
    .values(
        status="sent",
        sent_at=bindparam("b_now", type_=_outbox.c.sent_at.type),
        lease_owner=None,
        lease_until=None,
        last_error=None,
    )
)


async def mark_sent(session: AsyncSession, *, row_id: int, owner: str, now: datetime) -> bool:
    result = await session.execute(_MARK_SENT, {"b_id": row_id, "b_owner": owner, "b_now": now})
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def mark_sent_many(
    session: AsyncSession, *, row_ids: list[int], owner: str, now: datetime
) -> None:
    """`mark_sent` for several rows, in one statement."""
    if row_ids:
        await session.execute(
            _MARK_SENT, [{"b_id": row_id, "b_owner": owner, "b_now": now} for row_id in row_ids]
        )


_RECORD_COPY = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"))
    .values(slack_channel=bindparam("b_channel"), slack_ts=bindparam("b_ts"))
)


async def record_copies(session: AsyncSession, copies: list[tuple[int, str, str]]) -> None:
    """Where delivered rows posted their messages: (row id, channel or user id, ts)."""
    if copies:
        await session.execute(
            _RECORD_COPY, [{"b_id": i, "b_channel": c[:32], "b_ts": ts} for i, c, ts in copies]
        )


async def posted_copies(
    session: AsyncSession, lead_ids: list[int], kinds: list[str]
) -> list[tuple[int, str, str]]:
    """(lead id, channel or user id, ts) of the messages rows of `kinds` posted about leads."""
    if not lead_ids:
        return []
    rows = await session.execute(
        select(OutboxMessage.lead_id, OutboxMessage.slack_channel, OutboxMessage.slack_ts)
        .where(
            OutboxMessage.lead_id.in_(lead_ids),
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.slack_ts.is_not(None),
        )
        .order_by(OutboxMessage.id)
    )
    return [(int(lead or 0), str(channel), str(ts)) for lead, channel, ts in rows]


async def mark_failed(
    session: AsyncSession,
    *,
    row_id: int,
    owner: str,
    error: str,
    next_attempt_at: datetime | None,
) -> None:
    """Back off until `next_attempt_at`, or give up (`dead`) when it is None."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": error[:2000]}
    if next_attempt_at is None:
        values["status"] = "dead"
    else:
        values["next_attempt_at"] = next_attempt_at
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.lease_owner == owner)
        .values(**values)
    )


async def release(session: AsyncSession, *, row_ids: list[int], owner: str) -> None:
    """Hand back leased rows that were not attempted (an earlier row of their key failed).

    Leasing counted an attempt; it is taken back, so a row held back behind a
    slow head does not later back off as if it had failed itself.
    """
    if row_ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(row_ids), OutboxMessage.lease_owner == owner)
            .values(lease_owner=None, lease_until=None, attempts=OutboxMessage.attempts - 1)
        )


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
    )


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows.all()}
