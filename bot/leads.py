"""Use cases on leads. Each opens exactly one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.domain.contact import Email, Phone
from bot.domain.lead import LeadState
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database

POST_CARD = "post_card"
UPDATE_CARD = "update_card"


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

    async def capture(self, intake: LeadIntake, queue: QueueTarget, actor: str) -> int:
        """Store the lead, its first event and the intent to post its card, atomically."""
        now = self._clock.now()
        async with self._db.transaction() as session:
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
                first_touch={"source": intake.source, "utm": intake.utm},
                last_touch={"source": intake.source, "utm": intake.utm},
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
            lead_id = lead.id
        self._wake_outbox()
        return lead_id

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
