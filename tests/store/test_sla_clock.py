"""The SLA ladder as durable timers: each step fires at its time, once, and a claim or a
first contact cancels what no longer applies (SPEC §6)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.app import directory_rows
from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.domain.lead import LeadAction
from bot.erasure import Erasure
from bot.leads import Leads
from bot.offers import Offers
from bot.sla import SLA_NOTICE, SlaClock
from store.db import Database
from store.directory import sync_directory
from store.models import Lead, LeadEvent, OutboxMessage, Timer
from tests.factories import intake, make_leads, make_work

CONFIG = load_config(EXAMPLE_CONFIG_PATH)


@pytest.fixture
async def leads(db: Database, clock: FakeClock) -> Leads:
    async with db.transaction() as session:
        await sync_directory(session, *directory_rows(CONFIG))
    return make_leads(db, clock, config=CONFIG)


@pytest.fixture
def sla(db: Database, clock: FakeClock) -> SlaClock:
    return SlaClock(db, clock, lambda: None, Offers(CONFIG), CONFIG)


async def notices(db: Database) -> list[dict[str, Any]]:
    async with db.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == SLA_NOTICE).order_by(OutboxMessage.id)
        )
        return [dict(r.payload) for r in rows]


async def kinds(db: Database, lead_id: int) -> list[str]:
    async with db.reading() as session:
        return list(
            await session.scalars(
                select(LeadEvent.kind).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
            )
        )


async def lead_row(db: Database, lead_id: int) -> Lead:
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None
    return lead


async def test_an_unclaimed_lead_climbs_the_whole_ladder_each_step_once_and_on_time(
    db: Database, leads: Leads, sla: SlaClock, clock: FakeClock
) -> None:
    lead_id = await leads.capture(intake(), actor="t")
    assert (await lead_row(db, lead_id)).offered_rep_id == "U0ALICE1"
    clock.advance(59)
    assert await sla.fire_due() == 0  # not one second early
    clock.advance(1)
    assert await sla.fire_due() == 1
    assert await sla.fire_due() == 0  # never twice
    [nag] = await notices(db)
    assert nag["to"] == "U0ALICE1" and nag["text"].startswith("Lead waiting for you: 4 min left")

    clock.advance(60)  # 2 min: offered to the next rep, with their own offer DM
    assert await sla.fire_due() == 1
    lead = await lead_row(db, lead_id)
    assert lead.offered_rep_id == "U0BOB001"
    clock.advance(60)  # 3 min: open to the channel with @here
    assert await sla.fire_due() == 1
    assert (await lead_row(db, lead_id)).exclusive_until is None
    clock.advance(60)  # 4 min: the owner step does not apply, nobody owns it
    assert await sla.fire_due() == 0
    clock.advance(60)  # 5 min: missed, escalated
    assert await sla.fire_due() == 1
    lead = await lead_row(db, lead_id)
    assert lead.sla_status == "missed"
    sent = await notices(db)
    assert [(n["to"], n["here"], n["escalation"]) for n in sent] == [
        ("U0ALICE1", False, False),
        ("C0SALES01", True, False),
        ("C0MGRESC1", False, True),
    ]
    assert [k for k in await kinds(db, lead_id) if k not in ("passed",)] == [
        "captured",
        "offered",
        "sla_step",
        "sla_step",
        "offer_timeout",
        "offered",
        "sla_step",
        "opened",
        "sla_step",
        "sla_missed",
    ]


async def test_a_claim_cancels_the_unclaimed_steps_and_contact_records_the_outcome(
    db: Database, leads: Leads, sla: SlaClock, clock: FakeClock
) -> None:
    lead_id = await leads.capture(intake(), actor="t")
    clock.advance(90)
    assert await sla.fire_due() == 1  # the 1-minute DM
    assert (await leads.claim(lead_id, "U0ALICE1")).won
    async with db.reading() as session:
        statuses = {
            t.step: t.status
            for t in await session.scalars(select(Timer).where(Timer.lead_id == lead_id))
        }
    assert statuses == {0: "fired", 1: "cancelled", 2: "cancelled", 3: "pending", 4: "pending"}
    clock.advance(150)  # 4 min: claimed, no contact → the owner is nagged
    assert await sla.fire_due() == 1
    assert (await notices(db))[-1]["to"] == "U0ALICE1"
    clock.advance(30)
    work = make_work(db, clock, config=CONFIG)
    assert (await work.act(lead_id, LeadAction.CONTACTED, "U0ALICE1")).done
    lead = await lead_row(db, lead_id)
    assert lead.sla_status == "met"
    async with db.reading() as session:
        met = await session.scalar(
            select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.kind == "sla_met")
        )
    assert met is not None and met.data["elapsed_seconds"] == 270
    assert met.data["margin_seconds"] == 30
    clock.advance(600)
    assert await sla.fire_due() == 0  # the miss step was cancelled by the contact


async def test_a_late_first_contact_says_by_how_much_the_sla_was_missed(
    db: Database, leads: Leads, sla: SlaClock, clock: FakeClock
) -> None:
    lead_id = await leads.capture(intake(), actor="t")
    assert (await leads.claim(lead_id, "U0ALICE1")).won
    clock.advance(300)
    assert await sla.fire_due() == 2  # the owner's nag at 4 min, the miss at 5 min
    clock.advance(125)
    work = make_work(db, clock, config=CONFIG)
    assert (await work.act(lead_id, LeadAction.CONTACTED, "U0ALICE1")).done
    async with db.reading() as session:
        late = await session.scalar(
            select(LeadEvent).where(
                LeadEvent.lead_id == lead_id, LeadEvent.kind == "sla_contact_late"
            )
        )
    assert late is not None and late.data["margin_seconds"] == -125
    assert (await lead_row(db, lead_id)).sla_status == "missed_contacted"


async def test_a_rep_acting_while_a_step_fires_is_neither_deadlocked_nor_nagged(
    db: Database, leads: Leads, sla: SlaClock, clock: FakeClock, monkeypatch: Any
) -> None:
    """The owner marks the lead contacted just as its "claimed, no contact" step fires.
    On PostgreSQL the two transactions overlap: the step holds its timer, the action its
    lead, and each used to wait for the other (a deadlock, one of them rolled back: the
    rep's click failed). Now the action skips the timer being fired and commits, and the
    step, reading the lead under its lock, sees the contact and does nothing. SQLite runs
    one write transaction at a time, so there the step acts first and the action after."""
    import asyncio

    from store import timers as timer_store

    lead_id = await leads.capture(intake(), actor="t")
    clock.advance(10)
    assert (await leads.claim(lead_id, "U0ALICE1")).won
    clock.advance(230)  # 4 min: the owner's "no contact yet" DM is due
    claimed, go_on = asyncio.Event(), asyncio.Event()
    real_claim_due = timer_store.claim_due

    async def claim_and_hold(*args: Any, **kwargs: Any) -> Any:
        due = await real_claim_due(*args, **kwargs)
        claimed.set()
        await go_on.wait()  # the step's transaction stays open, its timer locked
        return due

    monkeypatch.setattr(timer_store, "claim_due", claim_and_hold)
    firing = asyncio.create_task(sla.fire_due())
    await asyncio.wait_for(claimed.wait(), 5)
    work = make_work(db, clock, config=CONFIG)
    acting = asyncio.create_task(work.act(lead_id, LeadAction.CONTACTED, "U0ALICE1"))
    done, _ = await asyncio.wait({acting}, timeout=3)
    assert bool(done) is not db.is_sqlite  # PostgreSQL: done while the step is held
    go_on.set()
    acted = await asyncio.wait_for(firing, 10)
    assert (await asyncio.wait_for(acting, 10)).done
    owner_nags = [n for n in await notices(db) if n["to"] == "U0ALICE1"]
    if db.is_sqlite:  # the step ran first: the contact came after the DM
        assert acted == 1 and len(owner_nags) == 1
    else:
        assert acted == 0 and owner_nags == []
    lead = await lead_row(db, lead_id)
    assert lead.state == "contacted" and lead.sla_status == "met"


async def test_an_erased_persons_lead_nags_nobody_but_its_miss_is_still_counted(
    db: Database, leads: Leads, sla: SlaClock, clock: FakeClock
) -> None:
    person = intake()
    lead_id = await leads.capture(person, actor="t")
    assert person.email is not None
    await Erasure(db, clock, lambda: None, "US").forget("U0MGR", person.email.normalized)
    clock.advance(300)  # the whole ladder is due: the DM, re-offer, channel, escalation
    assert await sla.fire_due() == 1  # only the miss acted
    assert await notices(db) == []  # no rep, channel or manager told about the person
    lead = await lead_row(db, lead_id)
    assert lead.sla_status == "missed"  # the SLA reports still count it
    assert lead.offered_rep_id == "U0ALICE1" and lead.exclusive_until is not None
    history = await kinds(db, lead_id)
    assert history[-1] == "sla_missed" and "offer_timeout" not in history
