"""Offering a lead to the next rep of its queue (SPEC §5), inside the caller's transaction.

The choice itself is pure (`bot/domain/rotation.py`); this module feeds it the
stored rotation state plus what only the configuration knows (working hours in
each rep's timezone), writes the outcome back, records the `offered` (or
`opened`) event and a `passed` event per rep passed over, and queues the DM to
the offered rep.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import LeadbotConfig
from bot.domain.hours import is_open
from bot.domain.lead import LeadState
from bot.domain.rotation import Candidate, Choice, choose_rep
from store import leads as lead_store
from store import outbox as outbox_store
from store import rotation as rotation_store
from store.db import Database
from store.leads import event_values
from store.models import Lead, Queue

#: Outbox kind: a DM to the offered rep with the lead's card.
DM_OFFER = "dm_offer"


def dm_key(rep_id: str) -> str:
    """Outbox ordering key for one rep's DMs."""
    return f"dm:{rep_id}"


class Offers:
    """Chooses and records offers. The queues and their members come from the database
    (mirrored from the configuration at start); working hours and managers from the
    configuration itself."""

    def __init__(self, config: LeadbotConfig) -> None:
        self._config = config
        #: Each rep's working hours and timezone, built once: the rotation asks per offer.
        self._hours = {
            r.id: (config.rep_hours(r.id), config.rep_timezone(r.id)) for r in config.reps
        }

    def is_manager(self, user_id: str) -> bool:
        return user_id in self._config.managers

    async def may_claim(self, session: AsyncSession, queue_id: str | None, user_id: str) -> bool:
        """Reps of the lead's queue, and managers, may claim its lead once it is open."""
        if self.is_manager(user_id):
            return True
        return queue_id is not None and await rotation_store.is_member(session, queue_id, user_id)

    def working(self, rep_id: str, now: datetime) -> bool:
        """Within the rep's working hours, in their own timezone (no hours: always)."""
        hours = self._hours.get(rep_id)
        return hours is None or is_open(*hours, now)

    def candidates(
        self, stored: Iterable[rotation_store.MemberState], now: datetime
    ) -> list[Candidate]:
        """The queue's members as the rotation sees them at `now`."""
        return [
            Candidate(
                rep_id=m.rep_id,
                position=m.position,
                weight=m.weight,
                earned=m.earned,
                offers=m.offers,
                last_offered_at=m.last_offered_at,
                away=m.away,
                working=self.working(m.rep_id, now),
                open_leads=m.open_leads,
                capacity=m.capacity,
            )
            for m in stored
        ]

    async def preview(
        self, session: AsyncSession, queue_id: str, now: datetime
    ) -> tuple[list[rotation_store.MemberState], Choice]:
        """The queue's members and the choice `offer` would make for a new lead at `now`,
        read without the queue's lock and writing nothing (`/leads queue`)."""
        stored = await rotation_store.members(session, queue_id)
        return stored, choose_rep(self.candidates(stored, now))

    async def choose(
        self, session: AsyncSession, *, queue_id: str, now: datetime, excluded: Collection[str] = ()
    ) -> tuple[Queue, Choice]:
        """The queue (held until the transaction ends) and its next available rep, with the
        rotation's shares credited. The caller records the offer (`record`) in the same
        transaction."""
        queue = await rotation_store.lock_queue(session, queue_id)
        stored = await rotation_store.members(session, queue_id)
        choice = choose_rep(self.candidates(stored, now), excluded)
        await rotation_store.record_choice(
            session, queue_id=queue_id, shares=choice.shares, chosen=choice.rep_id, now=now
        )
        return queue, choice

    async def offer(
        self,
        session: AsyncSession,
        *,
        lead_id: int,
        queue_id: str,
        now: datetime,
        actor: str,
        excluded: Collection[str] = (),
        routing: dict[str, Any] | None = None,
    ) -> Choice:
        """Offer the lead to the queue's next available rep, or open it to the channel.

        Leaves the lead `offered` (exclusive to the rep for the queue's window)
        or `new` with nobody offered; `routing` is the lead's stored routing
        note, to which this offer is added for the card.
        """
        queue, choice = await self.choose(session, queue_id=queue_id, now=now, excluded=excluded)
        offer = record(queue, choice, now=now, actor=actor, routing=routing)
        await lead_store.set_lead(session, lead_id, **offer.lead_values, updated_at=now)
        await lead_store.add_events(session, lead_id, offer.events)
        if offer.dm is not None:
            await outbox_store.enqueue_many(session, [{**offer.dm, "lead_id": lead_id}])
        return choice

    async def offer_next(
        self, session: AsyncSession, lead: Lead, *, now: datetime, actor: str, passing: str | None
    ) -> str | None:
        """Offer `lead` again in its own queue, passing over `passing` (the rep who released
        it or let it wait); the rep it went to, None when nobody could take it."""
        if lead.queue_id is None:
            return None
        choice = await self.offer(
            session,
            lead_id=lead.id,
            queue_id=lead.queue_id,
            now=now,
            actor=actor,
            excluded={passing} if passing else set(),
            routing=dict(lead.routing or {}),
        )
        return choice.rep_id


@dataclass(frozen=True)
class OfferRecord:
    """What an offer writes, as values: the lead's columns, its events (oldest first, without
    the lead id) and the DM to the offered rep (outbox insert values without the lead id;
    None when nobody was offered)."""

    lead_values: dict[str, Any]
    events: list[dict[str, Any]]
    dm: dict[str, Any] | None


def record(
    queue: Queue, choice: Choice, *, now: datetime, actor: str, routing: dict[str, Any] | None
) -> OfferRecord:
    """The offer `choice` as values to store: the lead `offered` (exclusive to the rep for the
    queue's window) or `new` with nobody offered, a `passed` event per rep passed over, then
    `offered` (or `opened`), and the DM. Pure, so a new lead can be inserted with it."""
    skipped = [{"rep": s.rep_id, "reason": s.reason.value} for s in choice.skipped]
    offer_note = {"rep": choice.rep_id, "skipped": skipped, "at": now.isoformat()}
    window = timedelta(seconds=queue.exclusivity_seconds)
    exclusive = window if choice.rep_id and window else None
    lead_values = {
        "state": (LeadState.OFFERED if choice.rep_id else LeadState.NEW).value,
        "queue_id": queue.id,
        "offered_rep_id": choice.rep_id,
        "offered_at": now if choice.rep_id else None,
        "exclusive_until": now + exclusive if exclusive else None,
        "routing": {**(routing or {}), "offer": offer_note},
    }
    events = [
        event_values(
            "passed", actor, now, reason=s.reason.value, data={"rep": s.rep_id, "queue": queue.id}
        )
        for s in choice.skipped
    ]
    if choice.rep_id is None:
        events.append(
            event_values(
                "opened",
                actor,
                now,
                reason="nobody available",
                data={"queue": queue.id, "skipped": skipped},
            )
        )
        return OfferRecord(lead_values, events, None)
    events.append(
        event_values(
            "offered",
            actor,
            now,
            to_state=LeadState.OFFERED.value,
            data={
                "rep": choice.rep_id,
                "queue": queue.id,
                "exclusive_seconds": exclusive.total_seconds() if exclusive else 0,
                "skipped": skipped,
            },
        )
    )
    dm = outbox_store.pending_values(
        kind=DM_OFFER, ordering_key=dm_key(choice.rep_id), now=now, payload={"rep": choice.rep_id}
    )
    return OfferRecord(lead_values, events, dm)


class Rotation:
    """Reps taking themselves out of the rotation and back (`/leads away`, `/leads back`)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def set_away(self, rep_id: str, away: bool) -> bool | None:
        """Whether the rep was away before; None when they are not a rep."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            return await rotation_store.set_away(session, rep_id, away=away, now=now)
