"""Queries on leads and their events. Callers own the session (one unit of work)."""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lead import CLAIMABLE_STATES, CLOSED_STATES, LeadSnapshot, LeadState
from store.models import ChatSession, Lead, LeadEvent, PageView, Queue, Rep

# The capture path's statements are Core, built once: no ORM objects, flushes or
# per-call expression building (which cost more CPU than SQLite itself).
_leads = cast(Table, Lead.__table__)
_INSERT_LEAD = insert(_leads)
_INSERT_EVENT = insert(cast(Table, LeadEvent.__table__))
_OPEN_FOR_CONTACT = (
    select(Lead)
    .where(
        or_(
            Lead.email_normalized == bindparam("email"),
            Lead.phone_e164 == bindparam("phone"),
        ),
        Lead.state.not_in([s.value for s in CLOSED_STATES]),
        Lead.erased_at.is_(None),
    )
    .order_by(Lead.captured_at, Lead.id)
    .with_for_update()
)
# SET takes the columns named in the parameters (Core's rule for an UPDATE without values()).
_UPDATE_LEAD = update(_leads).where(_leads.c.id == bindparam("lead_key"))
_VIEWED_URLS = select(PageView.url).where(
    or_(
        PageView.session_id.in_(
            select(ChatSession.id).where(ChatSession.lead_id == bindparam("lead"))
        ),
        PageView.session_id == bindparam("chat"),
    )
)


async def add_lead(session: AsyncSession, *, now: datetime, **fields: Any) -> int:
    """Insert a lead (one Core statement); its id."""
    result = await session.execute(
        _INSERT_LEAD, {"captured_at": now, "updated_at": now, "last_activity_at": now, **fields}
    )
    return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]


async def insert_lead(session: AsyncSession, *, now: datetime, **fields: Any) -> Lead:
    """`add_lead`, returning the stored lead."""
    lead = await session.get(Lead, await add_lead(session, now=now, **fields))
    assert lead is not None
    return lead


def event_values(
    kind: str,
    actor: str,
    at: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event's insert values, without its lead (`add_events` adds it)."""
    return {
        "kind": kind,
        "actor": actor,
        "at": at,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "data": data or {},
    }


async def add_event(
    session: AsyncSession, *, lead_id: int, kind: str, actor: str, at: datetime, **details: Any
) -> None:
    """Record one event on the lead's history (`details`: `event_values`' keywords)."""
    await add_events(session, lead_id, [event_values(kind, actor, at, **details)])


async def add_events(session: AsyncSession, lead_id: int, events: list[dict[str, Any]]) -> None:
    """Record `event_values` rows on the lead's history, in order, with one statement."""
    if events:
        await session.execute(_INSERT_EVENT, [{**e, "lead_id": lead_id} for e in events])


def contact_lock_id(key: str) -> int:
    """A stable signed 64-bit id for an advisory lock on one contact value."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_contacts(session: AsyncSession, keys: list[str]) -> None:
    """Serialize captures of the same person until this transaction ends.

    On PostgreSQL a transaction-scoped advisory lock per contact value (taken in
    a fixed order, so two captures sharing both values cannot deadlock) makes a
    second capture wait until the first has committed its lead. SQLite needs
    nothing: write transactions begin `IMMEDIATE`, so they run one at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for lock_id in sorted({contact_lock_id(k) for k in keys}):
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


async def open_leads_for_contact(
    session: AsyncSession, *, email_normalized: str | None, phone_e164: str | None
) -> list[Lead]:
    """Open (not won/lost/spam, not erased) leads with this email or phone, oldest first.

    The rows are locked on PostgreSQL so a claim or close waits for the merge.
    """
    if not email_normalized and not phone_e164:
        return []
    # A missing value binds NULL, which equals nothing.
    rows = await session.scalars(
        _OPEN_FOR_CONTACT, {"email": email_normalized or None, "phone": phone_e164 or None}
    )
    return list(rows)


async def merge_into(session: AsyncSession, *, lead_id: int, now: datetime, **values: Any) -> None:
    """Apply a returning person's changes and count the return."""
    await session.execute(
        update(Lead)
        .where(Lead.id == lead_id)
        .values(
            merged_count=Lead.merged_count + 1,
            updated_at=now,
            last_activity_at=now,
            **values,
        )
        .execution_options(synchronize_session=False)
    )


async def try_claim(
    session: AsyncSession, *, lead_id: int, rep_id: str, now: datetime
) -> str | None:
    """Take the lead for `rep_id` with one conditional update.

    Returns the state the lead was claimed from, or None when someone else got
    there first (or the lead is not claimable). Exactly one of any number of
    concurrent callers can win, on SQLite and PostgreSQL alike.
    """
    current = await session.scalar(select(Lead.state).where(Lead.id == lead_id))
    if current is None or current not in CLAIMABLE_STATES:
        return None
    result = await session.execute(
        update(Lead)
        .where(
            Lead.id == lead_id,
            Lead.state == current,
            Lead.owner_id.is_(None),
            # An offer's exclusivity, checked again here so a re-offer cannot slip between.
            or_(
                Lead.exclusive_until.is_(None),
                Lead.exclusive_until <= now,
                Lead.offered_rep_id == rep_id,
            ),
        )
        .values(
            state=LeadState.CLAIMED.value,
            owner_id=rep_id,
            claimed_at=now,
            updated_at=now,
            last_activity_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return current if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def owner_of(session: AsyncSession, lead_id: int) -> str | None:
    return await session.scalar(select(Lead.owner_id).where(Lead.id == lead_id))


async def get_lead(session: AsyncSession, lead_id: int) -> Lead | None:
    return await session.get(Lead, lead_id)


async def fresh_lead(session: AsyncSession, lead_id: int) -> Lead | None:
    """The lead as stored now, even if this session loaded it before conditional updates
    (which bypass the identity map) changed it."""
    return await session.get(Lead, lead_id, populate_existing=True)


@dataclass(frozen=True)
class StoredCard:
    """A lead as its card shows it, and where the card is (None until posted)."""

    snapshot: LeadSnapshot
    channel_id: str | None
    ts: str | None


# The lead's columns as a plain row (no ORM object per card: the outbox reads one per
# card, offer DM and notice), with its queue's name.
_CARDS = (
    select(_leads, Queue.name.label("queue_name"))
    .outerjoin(Queue, Queue.id == _leads.c.queue_id)
    .where(_leads.c.id.in_(bindparam("ids", expanding=True)))
)
#: A lead as `_CARDS` reads it: its columns by name, as on the model.
LeadRow = Any
_REP_NAMES = select(Rep.id, Rep.name).where(Rep.id.in_(bindparam("ids", expanding=True)))


async def lead_cards(session: AsyncSession, lead_ids: Collection[int]) -> dict[int, StoredCard]:
    """`StoredCard` of each lead that exists, in two queries however many (a batch of cards)."""
    if not lead_ids:
        return {}
    rows = (await session.execute(_CARDS, {"ids": sorted(set(lead_ids))})).all()
    skipped = {lead.id: _skipped(lead) for lead in rows}
    rep_ids = sorted({rep for reps in skipped.values() for rep, _ in reps})
    names = dict((await session.execute(_REP_NAMES, {"ids": rep_ids})).all()) if rep_ids else {}
    return {
        lead.id: StoredCard(
            _snapshot(
                lead,
                lead.queue_name,
                tuple((names.get(rep, rep), why) for rep, why in skipped[lead.id]),
            ),
            lead.slack_channel_id,
            lead.slack_ts,
        )
        for lead in rows
    }


async def lead_snapshot(session: AsyncSession, lead_id: int) -> LeadSnapshot | None:
    card = (await lead_cards(session, [lead_id])).get(lead_id)
    return card.snapshot if card else None


def _snapshot(
    lead: LeadRow, queue_name: str | None, skipped: tuple[tuple[str, str], ...]
) -> LeadSnapshot:
    return LeadSnapshot(
        id=lead.id,
        state=LeadState(lead.state),
        captured_at=lead.captured_at,
        name=lead.name,
        email=lead.email,
        phone=lead.phone,
        company=lead.company,
        source=lead.source,
        answers=dict(lead.answers or {}),
        utm=dict(lead.utm or {}),
        score=lead.score,
        grade=lead.grade,
        queue_name=queue_name,
        owner_id=lead.owner_id,
        claimed_at=lead.claimed_at,
        merged_count=lead.merged_count,
        intake=lead.intake,
        asked_for_human=lead.asked_for_human,
        reasons=tuple(reason_text(r) for r in lead.score_reasons or ()),
        offered_rep_id=lead.offered_rep_id,
        exclusive_until=lead.exclusive_until,
        route_reason=((lead.routing or {}).get("route") or {}).get("reason"),
        skipped=skipped,
        first_contact_at=lead.first_contact_at,
        lost_reason=lead.lost_reason,
        follow_up_at=lead.follow_up_at,
        erased=lead.erased_at is not None,
        **_sla_fields(lead),
    )


def _sla_fields(lead: LeadRow) -> dict[str, Any]:
    clock = (lead.routing or {}).get("sla") or {}
    due = clock.get("due")
    elapsed = clock.get("elapsed_seconds")
    margin = clock.get("margin_seconds")
    return {
        "sla_status": lead.sla_status,
        "sla_due": datetime.fromisoformat(due) if due else None,
        "sla_elapsed": timedelta(seconds=float(elapsed)) if elapsed is not None else None,
        "sla_target": timedelta(seconds=float(elapsed) + float(margin))
        if elapsed is not None and margin is not None
        else None,
    }


def _skipped(lead: LeadRow) -> list[tuple[str, str]]:
    """(rep id, why) for each rep passed over at the lead's last offer."""
    skipped = ((lead.routing or {}).get("offer") or {}).get("skipped") or []
    return [(str(s.get("rep")), str(s.get("reason"))) for s in skipped]


def reason_text(stored: Any) -> str:
    """A stored scoring reason ({"points", "label"}) as the card shows it: "+30 budget"."""
    if isinstance(stored, dict):
        return f"{int(stored.get('points', 0)):+d} {stored.get('label', '')}".strip()
    return str(stored)


async def set_lead(session: AsyncSession, lead_id: int, **values: Any) -> None:
    """Set columns of one lead (a prebuilt Core update; loaded `Lead` objects are not refreshed)."""
    await session.execute(_UPDATE_LEAD, {"lead_key": lead_id, **values})


async def record_card(session: AsyncSession, *, lead_id: int, channel_id: str, ts: str) -> None:
    await set_lead(session, lead_id, slack_channel_id=channel_id, slack_ts=ts)


async def card_channel(session: AsyncSession, lead_id: int) -> str | None:
    """The channel the lead's card is (or will be) in: where it was posted, else its queue's."""
    row = (
        await session.execute(
            select(Lead.slack_channel_id, Queue.channel_id)
            .outerjoin(Queue, Queue.id == Lead.queue_id)
            .where(Lead.id == lead_id)
        )
    ).first()
    if row is None:
        return None
    return row[0] or row[1]


async def card_channels(session: AsyncSession, lead_ids: Collection[int]) -> dict[int, str | None]:
    """`card_channel` for several leads in one query (a batch of live visitor turns)."""
    rows = await session.execute(
        select(Lead.id, Lead.slack_channel_id, Queue.channel_id)
        .outerjoin(Queue, Queue.id == Lead.queue_id)
        .where(Lead.id.in_(set(lead_ids)))
    )
    return {lead_id: posted or queued for lead_id, posted, queued in rows.all()}


async def viewed_paths(
    session: AsyncSession, *, lead_id: int | None = None, chat_id: str | None = None
) -> tuple[str, ...]:
    """URL paths viewed in the lead's widget conversations (and in `chat_id`), for scoring."""
    if lead_id is None and chat_id is None:
        return ()
    urls = await session.scalars(_VIEWED_URLS, {"lead": lead_id, "chat": chat_id})
    return tuple(dict.fromkeys(urllib.parse.urlsplit(u).path or "/" for u in urls))


async def events_of(session: AsyncSession, lead_id: int) -> list[LeadEvent]:
    rows = await session.scalars(
        select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.at, LeadEvent.id)
    )
    return list(rows)
