"""Capture and claim against the real store: atomic writes, one owner per lead."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.domain.contact import parse_email
from bot.leads import Leads
from store import outbox as outbox_store
from store.db import Database
from store.models import Lead, LeadEvent, OutboxMessage
from tests.factories import intake, make_leads, seed_directory


@pytest.fixture
async def leads(db: Database, clock: FakeClock) -> Leads:
    return make_leads(db, clock)


async def test_capture_writes_lead_event_and_outbox_row_together(
    db: Database, leads: Leads
) -> None:
    async with db.transaction() as session:
        await seed_directory(session)
    lead_id = await leads.capture(intake(email=parse_email("pat@example.com")), actor="api-key:1")
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
        events = list(await session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id)))
        rows = list(await session.scalars(select(OutboxMessage)))
    assert (
        lead is not None and lead.state == "offered" and lead.email_normalized == "pat@example.com"
    )
    assert lead.offered_rep_id == "U0REP000" and lead.grade == "SQL"  # +40 for the form
    assert [(e.kind, e.to_state, e.actor) for e in events] == [
        ("captured", "new", "api-key:1"),
        ("offered", "offered", "api-key:1"),
    ]
    assert [(r.kind, r.lead_id, r.payload, r.ordering_key) for r in rows] == [
        ("post_card", lead_id, {"channel": "C0SALES01"}, "channel:C0SALES01"),
        ("dm_offer", lead_id, {"rep": "U0REP000"}, "dm:U0REP000"),
    ]


async def test_capture_that_fails_midway_stores_nothing(
    db: Database, leads: Leads, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.transaction() as session:
        await seed_directory(session)

    async def broken_enqueue(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox_store, "enqueue_many", broken_enqueue)
    with pytest.raises(RuntimeError):
        await leads.capture(intake(), actor="test")
    async with db.reading() as session:
        for model in (Lead, LeadEvent, OutboxMessage):
            assert await session.scalar(select(func.count()).select_from(model)) == 0


async def test_claim_race_twenty_clickers_fifty_times(
    db: Database, leads: Leads, clock: FakeClock
) -> None:
    async with db.transaction() as session:
        await seed_directory(session, reps=20)
    clickers = [f"U0REP{i:03d}" for i in range(20)]
    for _ in range(50):
        lead_id = await leads.capture(intake(), actor="test")
        clock.advance(7)
        results = await asyncio.gather(*(leads.claim(lead_id, rep) for rep in clickers))
        winners = [rep for rep, result in zip(clickers, results, strict=True) if result.won]
        assert len(winners) == 1
        assert {result.owner_id for result in results} == {winners[0]}
        async with db.reading() as session:
            lead = await session.get(Lead, lead_id)
            claims = list(
                await session.scalars(
                    select(LeadEvent).where(
                        LeadEvent.lead_id == lead_id, LeadEvent.kind == "claimed"
                    )
                )
            )
        assert lead is not None and lead.owner_id == winners[0] and lead.state == "claimed"
        assert [(c.actor, c.from_state, c.to_state) for c in claims] == [
            (winners[0], "offered", "claimed")
        ]
        assert claims[0].data["seconds_to_claim"] == 7


async def test_claim_of_unknown_lead_and_second_claim(db: Database, leads: Leads) -> None:
    async with db.transaction() as session:
        await seed_directory(session)
    assert (await leads.claim(999, "U0REP000")).found is False
    lead_id = await leads.capture(intake(), actor="test")
    assert (await leads.claim(lead_id, "U0REP000")).won
    again = await leads.claim(lead_id, "U0REP000")
    assert (again.won, again.owner_id) == (False, "U0REP000")
    other = await leads.claim(lead_id, "U0REP001")
    assert (other.won, other.owner_id) == (False, "U0REP000")
    async with db.reading() as session:
        rows = list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
    assert rows == ["post_card", "dm_offer", "update_card"]
