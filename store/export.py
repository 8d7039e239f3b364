"""The `/leads export` reads: leads captured in [start, end), newest first, at most `limit`.

Both reads stream in batches (a server-side cursor on PostgreSQL), so an export
of hundreds of thousands of leads never holds them all as objects. The answer
keys are read first, over exactly the same rows, because the file's header
names one column per key before any row is written. Run both in one read unit
of work (`Database.reading`), starting with `same_snapshot`, so both see the
same leads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.domain.export import ExportRow, answer_keys
from store.models import Lead, Rep

#: Rows fetched per round trip.
BATCH = 2000

#: `ExportRow`'s fields and where each comes from (`erased` is the erasure time here).
_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "id": Lead.id,
    "captured_at": Lead.captured_at,
    "state": Lead.state,
    "grade": Lead.grade,
    "score": Lead.score,
    "source": Lead.source,
    "intake": Lead.intake,
    "queue_id": Lead.queue_id,
    "owner_id": Lead.owner_id,
    "owner_name": Rep.name,
    "name": Lead.name,
    "email": Lead.email,
    "phone": Lead.phone,
    "company": Lead.company,
    "claimed_at": Lead.claimed_at,
    "first_contact_at": Lead.first_contact_at,
    "sla_status": Lead.sla_status,
    "lost_reason": Lead.lost_reason,
    "erased": Lead.erased_at,
    "utm": Lead.utm,
    "answers": Lead.answers,
}


async def same_snapshot(session: AsyncSession) -> None:
    """Make every read of this unit of work see one snapshot; call it before the first.

    PostgreSQL's default (READ COMMITTED) gives each statement its own, so a lead
    merged between the two reads could gain an answer the header lacks. SQLite's
    read transaction already keeps one snapshot from its first read to the end.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _in_period(stmt: Select[Any], start: datetime, end: datetime, limit: int) -> Select[Any]:
    """The export's rows, in its order: the `captured_at` index serves both."""
    return (
        stmt.where(Lead.captured_at >= start, Lead.captured_at < end)
        .order_by(Lead.captured_at.desc(), Lead.id.desc())
        .limit(limit)
    )


async def export_answer_keys(
    session: AsyncSession, start: datetime, end: datetime, limit: int
) -> list[str]:
    """The answer keys of the rows `export_rows` will return (erased leads' left out)."""
    stmt = _in_period(select(Lead.answers, Lead.erased_at), start, end, limit)
    result = await session.stream(stmt.execution_options(yield_per=BATCH))
    keys: set[str] = set()
    async for batch in result.partitions():
        keys.update(answer_keys(answers for answers, erased_at in batch if erased_at is None))
    return sorted(keys)


async def export_rows(
    session: AsyncSession, start: datetime, end: datetime, limit: int
) -> AsyncIterator[list[ExportRow]]:
    """The leads captured in [start, end), newest first, in batches; the owner's name joined."""
    columns = (c.label(name) for name, c in _COLUMNS.items())
    stmt = _in_period(select(*columns).outerjoin(Rep, Rep.id == Lead.owner_id), start, end, limit)
    result = await session.stream(stmt.execution_options(yield_per=BATCH))
    async for batch in result.partitions():
        yield [_row(r._asdict()) for r in batch]


def _row(values: dict[str, Any]) -> ExportRow:
    values["erased"] = values["erased"] is not None
    values["score"] = values["score"] or 0
    values["utm"] = values["utm"] or {}
    values["answers"] = values["answers"] or {}
    return ExportRow(**values)
