"""Queries behind `/leads find` and `/leads queue`. Read-only; callers own the session.

Finding stays cheap on a million leads: an id is the primary key, an email or a
phone number one of their indexes, and a name or company search (which has no
index to use) stops at `limit + 1` rows, newest first; how many more there are is
counted only when there are more, and only up to a cap.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lead import CLAIMABLE_STATES
from store.models import Lead, Queue, Rep

#: A search that matches more leads than this says "more than this many".
COUNT_CAP = 1000


@dataclass(frozen=True)
class FoundLead:
    """One lead as `/leads find` lists it."""

    id: int
    state: str
    grade: str | None
    score: int
    name: str | None
    company: str | None
    owner_id: str | None
    offered_rep_id: str | None
    queue_name: str | None
    captured_at: datetime
    card_channel_id: str | None
    card_ts: str | None
    erased: bool


@dataclass(frozen=True)
class Matches:
    """The first `limit` matching leads, newest first, and how many match in all
    (`total` counted up to `COUNT_CAP`; `capped` when there are more than that)."""

    leads: list[FoundLead]
    total: int
    capped: bool = False

    @property
    def more(self) -> int:
        """Matching leads beyond those listed."""
        return self.total - len(self.leads)


@dataclass(frozen=True)
class Waiting:
    """A queue's unclaimed leads (new or offered): how many, and the oldest's capture time."""

    count: int
    oldest_at: datetime | None


_FOUND = (
    select(
        Lead.id,
        Lead.state,
        Lead.grade,
        Lead.score,
        Lead.name,
        Lead.company,
        Lead.owner_id,
        Lead.offered_rep_id,
        Queue.name.label("queue_name"),
        Lead.captured_at,
        Lead.slack_channel_id.label("card_channel_id"),
        Lead.slack_ts.label("card_ts"),
        Lead.erased_at,
    )
    .outerjoin(Queue, Queue.id == Lead.queue_id)
    .order_by(Lead.captured_at.desc(), Lead.id.desc())
)


def _found(row: RowMapping) -> FoundLead:
    values = dict(row)
    erased_at = values.pop("erased_at")
    return FoundLead(**values, erased=erased_at is not None)


def _like_pattern(text: str) -> str:
    """`%text%` with LIKE's own wildcards in `text` taken literally (escape `\\`)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _matches(session: AsyncSession, where: ColumnElement[bool], limit: int) -> Matches:
    rows = (await session.execute(_FOUND.where(where).limit(limit + 1))).all()
    leads = [_found(row._mapping) for row in rows[:limit]]
    if len(rows) <= limit:
        return Matches(leads, len(leads))
    bounded = select(Lead.id).where(where).limit(COUNT_CAP + 1).subquery()
    total = int(await session.scalar(select(func.count()).select_from(bounded)) or 0)
    return Matches(leads, min(total, COUNT_CAP), capped=total > COUNT_CAP)


async def lead_by_id(session: AsyncSession, lead_id: int) -> Matches:
    """The lead with this id, erased or not."""
    return await _matches(session, Lead.id == lead_id, 1)


async def leads_by_email(session: AsyncSession, normalized: str, limit: int) -> Matches:
    """Leads whose normalized email is this one (not erased)."""
    return await _matches(
        session, (Lead.email_normalized == normalized) & Lead.erased_at.is_(None), limit
    )


async def leads_by_phone(session: AsyncSession, e164: str, limit: int) -> Matches:
    """Leads whose phone number is this one in E.164 (not erased)."""
    return await _matches(session, (Lead.phone_e164 == e164) & Lead.erased_at.is_(None), limit)


async def leads_by_name(session: AsyncSession, text: str, limit: int) -> Matches:
    """Leads whose name or company contains `text`, ignoring case (not erased)."""
    pattern = _like_pattern(text)
    named = or_(Lead.name.ilike(pattern, escape="\\"), Lead.company.ilike(pattern, escape="\\"))
    return await _matches(session, named & Lead.erased_at.is_(None), limit)


async def waiting_by_queue(session: AsyncSession) -> dict[str, Waiting]:
    """Each queue's unclaimed leads (through the index on `state`)."""
    rows = await session.execute(
        select(Lead.queue_id, func.count(), func.min(Lead.captured_at))
        .where(
            Lead.state.in_([s.value for s in CLAIMABLE_STATES]),
            Lead.queue_id.is_not(None),
            Lead.erased_at.is_(None),
        )
        .group_by(Lead.queue_id)
    )
    return {str(queue_id): Waiting(int(n), oldest) for queue_id, n, oldest in rows}


async def away_since(session: AsyncSession, rep_ids: Collection[str]) -> dict[str, datetime]:
    """When each of these reps who is away went away (reps who are not away are left out)."""
    if not rep_ids:
        return {}
    rows = await session.execute(
        select(Rep.id, Rep.away_since).where(
            Rep.id.in_(list(rep_ids)), Rep.away.is_(True), Rep.away_since.is_not(None)
        )
    )
    return {rep_id: since for rep_id, since in rows if since is not None}
