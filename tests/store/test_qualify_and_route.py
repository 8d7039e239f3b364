"""Capture scores and routes (SPEC §4, §5): under SQL → nurture, never a queue's card,
unless the person asked for a human; rules pick the queue; a nurtured person who comes
back sales-ready gets their first card."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.app import directory_rows
from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.domain.contact import parse_email
from bot.leads import Leads
from store import leads as lead_store
from store.db import Database
from store.directory import sync_directory
from store.models import Lead, LeadEvent, OutboxMessage, Timer
from tests.factories import intake, make_leads

CONFIG = load_config(EXAMPLE_CONFIG_PATH)


@pytest.fixture
async def leads(db: Database, clock: FakeClock) -> Leads:
    async with db.transaction() as session:
        await sync_directory(session, *directory_rows(CONFIG))
    return make_leads(db, clock, config=CONFIG)


async def stored(db: Database, lead_id: int) -> tuple[Lead, list[str], list[tuple[str, Any]]]:
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        events = list(
            await session.scalars(
                select(LeadEvent.kind).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
            )
        )
        rows = [
            (r.kind, r.payload)
            for r in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.lead_id == lead_id)
            )
        ]
    return lead, events, rows


def chat_lead(**fields: Any) -> Any:
    """A widget lead (no form bonus): it has to earn its points from its answers."""
    return intake(intake="widget", **fields)


async def test_a_lead_under_the_sql_threshold_is_nurtured_and_never_posted(
    db: Database, leads: Leads
) -> None:
    captured = await leads.capture_lead(
        chat_lead(answers={"budget": "$10k to $50k", "timeline": "Just researching"}), actor="t"
    )
    lead, events, rows = await stored(db, captured.lead_id)
    assert (lead.state, lead.grade, lead.score, lead.queue_id) == ("nurture", "IQL", 0, None)
    assert events == ["captured"] and rows == []
    assert lead.routing is not None
    assert lead.routing["route"]["reason"] == "nurture: IQL, 0 points < SQL 40"
    assert [r["label"] for r in lead.score_reasons] == ["budget $10k to $50k", "just researching"]


async def test_asking_for_a_human_overrides_nurture(db: Database, leads: Leads) -> None:
    captured = await leads.capture_lead(
        chat_lead(answers={"timeline": "Just researching"}, asked_for_human=True), actor="t"
    )
    lead, events, rows = await stored(db, captured.lead_id)
    assert lead.state == "offered" and lead.queue_id == "sales" and lead.grade == "IQL"
    assert lead.asked_for_human and events[:2] == ["captured", "offered"]
    assert [kind for kind, _ in rows] == ["post_card", "dm_offer"]
    assert lead.routing is not None
    assert lead.routing["route"]["reason"].startswith("asked for a human (IQL, 5 points < SQL 40)")


async def test_a_sales_ready_chat_lead_is_routed_by_the_first_matching_rule(
    db: Database, leads: Leads
) -> None:
    big = await leads.capture_lead(
        chat_lead(answers={"company_size": 1200.0, "budget": "Over $50k"}), actor="t"
    )
    lead, _, rows = await stored(db, big.lead_id)
    assert (lead.state, lead.grade, lead.score, lead.queue_id) == (
        "offered",
        "SQL",
        50,
        "enterprise",
    )
    assert rows[0] == ("post_card", {"channel": "C0ENTPR01"})
    assert lead.offered_rep_id == "U0DEVPA1"
    small = await leads.capture_lead(
        chat_lead(answers={"company_size": 40.0, "budget": "Over $50k", "timeline": "This month"}),
        actor="t",
    )
    lead, _, rows = await stored(db, small.lead_id)
    assert (lead.queue_id, lead.score) == ("sales", 50)
    assert lead.routing is not None
    assert lead.routing["route"]["reason"] == "default queue (no rule matched)"


async def test_the_card_snapshot_carries_the_score_reasons_and_the_route(
    db: Database, leads: Leads
) -> None:
    captured = await leads.capture_lead(
        chat_lead(answers={"company_size": 300.0, "budget": "Over $50k", "timeline": "This month"}),
        actor="t",
    )
    async with db.reading() as session:
        snapshot = await lead_store.lead_snapshot(session, captured.lead_id)
    assert snapshot is not None and snapshot.grade == "SQL" and snapshot.score == 70
    assert snapshot.reasons == (
        "+30 budget over $50k",
        "+20 200+ employees",
        "+20 starting this month",
    )
    assert snapshot.route_reason == "default queue (no rule matched)"
    assert snapshot.offered_rep_id == "U0ALICE1" and snapshot.exclusive_until is not None


async def test_a_nurtured_person_who_comes_back_sales_ready_gets_their_first_card(
    db: Database, leads: Leads, clock: FakeClock
) -> None:
    email = parse_email("later@example.com")
    first = await leads.capture_lead(chat_lead(email=email), actor="t")
    assert first.state.value == "nurture"
    clock.advance(3600)
    again = await leads.capture_lead(
        chat_lead(email=email, answers={"budget": "Over $50k", "timeline": "This month"}),
        actor="t",
    )
    assert again.lead_id == first.lead_id and again.merged and again.state.value == "offered"
    lead, events, rows = await stored(db, first.lead_id)
    # +30 budget, +20 this month, +10 came back
    assert (lead.score, lead.grade, lead.queue_id) == (60, "SQL", "sales")
    assert events[:4] == ["captured", "merged", "routed", "offered"]
    assert [kind for kind, _ in rows] == ["post_card", "dm_offer"]  # one card, no merge note
    # Its SLA clock starts now, at the card: the routing note the card reads and the ladder.
    assert lead.sla_status == "pending" and lead.offered_rep_id is not None
    assert lead.routing["sla"]["start"] == clock.now().isoformat()
    assert lead.routing["offer"]["rep"] == lead.offered_rep_id
    async with db.reading() as session:
        steps = list(
            await session.scalars(
                select(Timer.due_at).where(
                    Timer.lead_id == first.lead_id, Timer.status == "pending"
                )
            )
        )
    assert steps and min(steps) > clock.now()
