"""Use cases on leads. Each opens exactly one unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.contact import Email, Phone
from bot.domain.lead import LeadState
from bot.domain.merge import Contact, plan_merge
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database
from store.models import Lead

POST_CARD = "post_card"
UPDATE_CARD = "update_card"
#: A message in the lead's card thread (a returning person), once the card is posted.
POST_THREAD_NOTE = "post_thread_note"


def channel_key(channel_id: str) -> str:
    """Outbox ordering key: everything for one channel goes out in order."""
    return f"channel:{channel_id}"


@dataclass(frozen=True)
class LeadIntake:
    """A validated, normalized lead as it arrives from any intake surface."""

    intake: str
    email: Email | None = None
    phone: Phone | None = None
    name: str | None = None
    company: str | None = None
    source: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    utm: dict[str, str] = field(default_factory=dict)
    api_key_id: int | None = None
    page: str | None = None
    referrer: str | None = None


def _touch(intake: LeadIntake, now: datetime) -> dict[str, Any]:
    """Where this visit came from: stored as first touch (on create) and last touch (always)."""
    return {
        "at": now.isoformat(),
        "intake": intake.intake,
        "source": intake.source,
        "utm": dict(intake.utm),
        "page": intake.page,
        "referrer": intake.referrer,
    }


def stored_contact(lead: Lead) -> Contact:
    return Contact(
        name=lead.name,
        company=lead.company,
        email=Email(lead.email or "", lead.email_normalized) if lead.email_normalized else None,
        phone=Phone(lead.phone or "", lead.phone_e164) if lead.phone_e164 else None,
        source=lead.source,
    )


@dataclass(frozen=True)
class Captured:
    """What a capture did: a new lead, or a returning person merged into their open one."""

    lead_id: int
    state: LeadState
    merged: bool


@dataclass(frozen=True)
class QueueTarget:
    id: str
    channel_id: str


@dataclass(frozen=True)
class ClaimResult:
    """Outcome of a claim click: `won`, or who holds the lead instead."""

    won: bool
    owner_id: str | None
    found: bool = True


class Leads:
    """Capture and claim: the lead's path from intake to an owner."""

    def __init__(self, db: Database, clock: Clock, wake_outbox: Callable[[], None]) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox

    async def capture(
        self,
        intake: LeadIntake,
        queue: QueueTarget,
        actor: str,
        *,
        then: Callable[[AsyncSession, int], Awaitable[None]] | None = None,
    ) -> int:
        """`capture_lead`, for callers that need only the lead id."""
        return (await self.capture_lead(intake, queue, actor, then=then)).lead_id

    async def capture_lead(
        self,
        intake: LeadIntake,
        queue: QueueTarget,
        actor: str,
        *,
        then: Callable[[AsyncSession, int], Awaitable[None]] | None = None,
    ) -> Captured:
        """Store the lead, its first event and the intent to post its card, atomically.

        A returning person (same normalized email or E.164 phone as an open lead)
        is merged into that lead instead: its id is returned, its card updated and
        its owner told in the thread — never a second card (SPEC §3).
        `then` runs inside the same transaction with the lead id (the widget links
        its conversation there); if it raises, nothing is stored.
        """
        now = self._clock.now()
        touch = _touch(intake, now)
        email = intake.email.normalized if intake.email else None
        phone = intake.phone.e164 if intake.phone else None
        async with self._db.transaction() as session:
            # Two captures of one new person must not both miss each other and both insert.
            keys = [f"email:{email}"] if email else []
            await lead_store.lock_contacts(session, keys + ([f"phone:{phone}"] if phone else []))
            found = await lead_store.open_leads_for_contact(
                session, email_normalized=email, phone_e164=phone
            )
            if found:
                # Email on one open lead and phone on another: the oldest one is the person's.
                oldest, *others = found
                lead_id = await self._merge(session, oldest, others, intake, touch, actor)
                state = LeadState(oldest.state)
            else:
                lead_id = await self._insert(session, intake, queue, touch, actor)
                state = LeadState.NEW
            if then is not None:
                await then(session, lead_id)
        self._wake_outbox()
        return Captured(lead_id, state, merged=bool(found))

    async def _insert(
        self,
        session: AsyncSession,
        intake: LeadIntake,
        queue: QueueTarget,
        touch: dict[str, Any],
        actor: str,
    ) -> int:
        now = self._clock.now()
        lead = await lead_store.insert_lead(
            session,
            now=now,
            state=LeadState.NEW.value,
            intake=intake.intake,
            name=intake.name,
            company=intake.company,
            email=intake.email.given if intake.email else None,
            email_normalized=intake.email.normalized if intake.email else None,
            phone=intake.phone.given if intake.phone else None,
            phone_e164=intake.phone.e164 if intake.phone else None,
            source=intake.source,
            answers=intake.answers,
            utm=intake.utm,
            first_touch=touch,
            last_touch=touch,
            api_key_id=intake.api_key_id,
            queue_id=queue.id,
            score_reasons=[],
        )
        await lead_store.add_event(
            session,
            lead_id=lead.id,
            kind="captured",
            actor=actor,
            at=now,
            to_state=LeadState.NEW.value,
            data={"intake": intake.intake, "queue": queue.id},
        )
        await outbox_store.enqueue(
            session,
            kind=POST_CARD,
            ordering_key=channel_key(queue.channel_id),
            lead_id=lead.id,
            payload={"channel": queue.channel_id},
            now=now,
        )
        return lead.id

    async def _merge(
        self,
        session: AsyncSession,
        lead: Lead,
        others: list[Lead],
        intake: LeadIntake,
        touch: dict[str, Any],
        actor: str,
    ) -> int:
        now = self._clock.now()
        merge = plan_merge(
            stored_contact(lead),
            Contact(intake.name, intake.company, intake.email, intake.phone, intake.source),
            lead.answers or {},
            intake.answers,
            via=intake.intake,
        )
        values: dict[str, Any] = {"last_touch": touch}
        for name in merge.filled:
            if name == "email" and intake.email:
                values.update(email=intake.email.given, email_normalized=intake.email.normalized)
            elif name == "phone" and intake.phone:
                values.update(phone=intake.phone.given, phone_e164=intake.phone.e164)
            else:
                values[name] = merge.filled[name]
        if merge.answers:
            values["answers"] = {**(lead.answers or {}), **intake.answers}
        if intake.utm and not lead.utm:
            values["utm"] = intake.utm
        await lead_store.merge_into(session, lead_id=lead.id, now=now, **values)
        data = merge.summary()
        if others:
            data["also_matched"] = [other.id for other in others]
        await lead_store.add_event(
            session, lead_id=lead.id, kind="merged", actor=actor, at=now, data=data
        )
        ordering = channel_key(await lead_store.card_channel(session, lead.id) or "none")
        await outbox_store.enqueue(
            session, kind=UPDATE_CARD, ordering_key=ordering, lead_id=lead.id, now=now
        )
        await outbox_store.enqueue(
            session,
            kind=POST_THREAD_NOTE,
            ordering_key=ordering,
            lead_id=lead.id,
            payload={"merge": merge.to_payload()},
            now=now,
        )
        return lead.id

    async def claim(self, lead_id: int, rep_id: str) -> ClaimResult:
        """Decide the owner with one conditional update; the card update rides the outbox."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            lead = await lead_store.get_lead(session, lead_id)
            if lead is None:
                return ClaimResult(won=False, owner_id=None, found=False)
            from_state = await lead_store.try_claim(
                session, lead_id=lead_id, rep_id=rep_id, now=now
            )
            if from_state is None:
                return ClaimResult(won=False, owner_id=await lead_store.owner_of(session, lead_id))
            await lead_store.add_event(
                session,
                lead_id=lead_id,
                kind="claimed",
                actor=rep_id,
                at=now,
                from_state=from_state,
                to_state=LeadState.CLAIMED.value,
                data={"seconds_to_claim": (now - lead.captured_at).total_seconds()},
            )
            await outbox_store.enqueue(
                session,
                kind=UPDATE_CARD,
                ordering_key=channel_key(await lead_store.card_channel(session, lead_id) or "none"),
                lead_id=lead_id,
                now=now,
            )
        self._wake_outbox()
        return ClaimResult(won=True, owner_id=rep_id)
