"""Two replicas fire the same SLA ladders: every step that should act does, exactly once
(SPEC §6, issue 6 acceptance 4).

Each replica has its own `Database` (engines and pool) and its own use cases, as two
processes would, on one database and one fake clock. The clock moves 10 s at a time;
at each tick both replicas run `fire_due` several times at once, beside that tick's
captures, claims and first contacts. On PostgreSQL the passes really overlap, so this
is where `FOR UPDATE SKIP LOCKED` in `store/timers.py: claim_due` earns its keep.

Leads are captured on ticks, so every step is due exactly on a tick, and the claims and
contacts come on ticks where none of that lead's steps is due: what each lead should
see is fixed in advance, whatever order the replicas' transactions run in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import directory_rows
from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, parse_config
from bot.domain.lead import LeadAction
from bot.lead_work import LeadWork
from bot.leads import Leads
from bot.offers import Offers
from bot.sla import SLA_NOTICE, SlaClock
from store.db import Database
from store.directory import sync_directory
from store.models import Lead, LeadEvent, OutboxMessage, Timer
from tests.config_edits import editor
from tests.factories import intake, make_leads, make_work

LEADS = 200
WAVE = 20  # leads captured per tick, over the first LEADS // WAVE ticks
TICK = 10  # seconds of fake time between passes
PASSES = 3  # fire_due calls per replica per tick, all at once
ESCALATION = "C0MGRESC1"
CHANNEL = "C0SALES01"


def _roomy_config() -> LeadbotConfig:
    """The example configuration with room for every lead: each sales rep may hold them
    all, so every lead is offered (the example's capacities would leave most unoffered)."""
    edit = editor(Path(EXAMPLE_CONFIG_PATH).read_text())
    return parse_config(
        edit(
            ("    name: Alice Johnson\n", "    name: Alice Johnson\n    capacity: 1000\n"),
            ("    capacity: 8\n", "    capacity: 1000\n"),
            ("    name: Carmen Ruiz\n", "    name: Carmen Ruiz\n    capacity: 1000\n"),
        )
    )


CONFIG = _roomy_config()


class Plan(Enum):
    """What the rep does with a lead, in seconds after its capture (default ladder:
    steps at 60, 120, 180, 240 and 300 s)."""

    ALONE = "left alone"  # every step acts but the owner's DM (nobody owns it)
    CLAIMED = "claimed after the first nag"  # claim at 90 s: the owner's DM and the miss
    CLAIMED_CONTACTED = "claimed, then contacted"  # claim at 90 s, contact at 150 s
    CLAIMED_EARLY = "claimed at once, contacted late"  # claim at 10 s, contact at 270 s


#: Steps (by index) that act, and the seconds at which the owner claims and contacts.
ACTS: dict[Plan, tuple[set[int], int | None, int | None]] = {
    Plan.ALONE: ({0, 1, 2, 4}, None, None),
    Plan.CLAIMED: ({0, 3, 4}, 90, None),
    Plan.CLAIMED_CONTACTED: ({0}, 90, 150),
    Plan.CLAIMED_EARLY: ({3}, 10, 270),
}


def plan_of(n: int) -> Plan:
    """Most leads are left alone; a tenth each get the other plans."""
    return {0: Plan.CLAIMED, 1: Plan.CLAIMED_CONTACTED, 2: Plan.CLAIMED_EARLY}.get(
        n % 10, Plan.ALONE
    )


@dataclass
class Tracked:
    lead_id: int
    plan: Plan
    captured: int  # the tick's second
    offered_to: str = ""


@dataclass
class Replica:
    leads: Leads
    work: LeadWork
    sla: SlaClock


@pytest.fixture
async def replicas(database_url: str, clock: FakeClock) -> AsyncIterator[list[Replica]]:
    dbs = [Database(database_url, pool_size=WAVE) for _ in range(2)]
    try:
        async with dbs[0].transaction() as session:
            await sync_directory(session, *directory_rows(CONFIG))
        yield [
            Replica(
                make_leads(db, clock, config=CONFIG),
                make_work(db, clock, config=CONFIG),
                SlaClock(db, clock, lambda: None, Offers(CONFIG), CONFIG),
            )
            for db in dbs
        ]
    finally:
        for db in dbs:
            await db.dispose()


async def test_two_replicas_fire_every_step_of_200_ladders_exactly_once(
    replicas: list[Replica], db: Database, clock: FakeClock
) -> None:
    tracked: list[Tracked] = []
    fired = 0
    for second in range(0, (LEADS // WAVE) * TICK + 300 + 2 * TICK, TICK):
        if second:
            clock.advance(TICK)
        work: list[Awaitable[None]] = []
        for n, lead in enumerate(tracked):
            _, claim_at, contact_at = ACTS[lead.plan]
            rep = replicas[n % 2]
            if claim_at is not None and second == lead.captured + claim_at:
                work.append(_claim(rep, lead))
            if contact_at is not None and second == lead.captured + contact_at:
                work.append(_contact(rep, lead))
        wave = len(tracked) < LEADS
        captures = [
            replicas[i % 2].leads.capture(intake(), actor=f"r{i % 2}")
            for i in range(WAVE if wave else 0)
        ]
        _, ids, acted = await asyncio.gather(
            asyncio.gather(*work),
            asyncio.gather(*captures),
            asyncio.gather(*(r.sla.fire_due() for r in replicas for _ in range(PASSES))),
        )
        fired += sum(acted)
        if wave:
            tracked += [Tracked(i, plan_of(len(tracked) + k), second) for k, i in enumerate(ids)]
            await _note_offers(db, tracked[-WAVE:])

    assert len({t.lead_id for t in tracked}) == LEADS
    expected_steps = {(t.lead_id, s) for t in tracked for s in ACTS[t.plan][0]}
    assert fired == len(expected_steps)
    await _assert_each_step_once(db, tracked, expected_steps)


async def _claim(replica: Replica, lead: Tracked) -> None:
    result = await replica.leads.claim(lead.lead_id, lead.offered_to)
    assert result.won, (lead, result)


async def _contact(replica: Replica, lead: Tracked) -> None:
    result = await replica.work.act(lead.lead_id, LeadAction.CONTACTED, lead.offered_to)
    assert result.done, (lead, result)


async def _note_offers(db: Database, leads: list[Tracked]) -> None:
    """Who each new lead was offered to: the rep who claims it, and who is nagged first."""
    async with db.reading() as session:
        rows = await session.execute(
            select(Lead.id, Lead.offered_rep_id).where(Lead.id.in_([t.lead_id for t in leads]))
        )
        offered: dict[int, str | None] = {i: r for i, r in rows.all()}
    for lead in leads:
        assert offered[lead.lead_id], lead
        lead.offered_to = offered[lead.lead_id] or ""


async def _assert_each_step_once(
    db: Database, tracked: list[Tracked], expected_steps: set[tuple[int, int]]
) -> None:
    async with db.reading() as session:
        timers = (await session.execute(select(Timer.lead_id, Timer.step, Timer.status))).all()
        events = (
            await session.execute(
                select(LeadEvent.lead_id, LeadEvent.kind, LeadEvent.data).where(
                    LeadEvent.kind.in_(
                        ["sla_step", "offer_timeout", "offered", "sla_missed", "sla_met", "opened"]
                    )
                )
            )
        ).all()
        notices = (
            await session.execute(
                select(OutboxMessage.lead_id, OutboxMessage.payload).where(
                    OutboxMessage.kind == SLA_NOTICE
                )
            )
        ).all()

    # Every deadline ended fired or cancelled: a step that no longer applied when it came
    # due (the owner's DM of a lead nobody owns) is fired without acting; the others a
    # claim or a contact cancelled.
    assert len(timers) == LEADS * len(CONFIG.queue_ladder("sales").steps)
    status = {(lead_id, step): s for lead_id, step, s in timers}
    for t in tracked:
        fired = ACTS[t.plan][0] | ({3} if t.plan is Plan.ALONE else set())
        for step in range(5):
            expected = "fired" if step in fired else "cancelled"
            assert status[(t.lead_id, step)] == expected, (t, step)

    # One sla_step event per step that acts, on time to the tick, and no other.
    steps = Counter((lead_id, data["step"]) for lead_id, kind, data in events if kind == "sla_step")
    assert steps == Counter(expected_steps)
    assert {data["late_seconds"] for _, kind, data in events if kind == "sla_step"} == {0}

    per_lead = Counter((lead_id, kind) for lead_id, kind, _ in events)
    for t in tracked:
        alone = t.plan is Plan.ALONE
        missed = t.plan in (Plan.ALONE, Plan.CLAIMED)
        met = t.plan in (Plan.CLAIMED_CONTACTED, Plan.CLAIMED_EARLY)
        assert per_lead[(t.lead_id, "offer_timeout")] == int(alone), t
        assert per_lead[(t.lead_id, "offered")] == 1 + int(alone), t  # the re-offer
        assert per_lead[(t.lead_id, "opened")] == int(alone), t
        assert per_lead[(t.lead_id, "sla_missed")] == int(missed), t
        assert per_lead[(t.lead_id, "sla_met")] == int(met), t

    # The messages queued for Slack, each once: nags, the channel, the managers.
    sent = Counter(
        (lead_id, p["to"], p["text"].split(":")[0].split(",")[0], p["here"], p["escalation"])
        for lead_id, p in notices
    )
    want: Counter[tuple[int, str, str, bool, bool]] = Counter()
    for t in tracked:
        acts = ACTS[t.plan][0]
        if 0 in acts:
            want[(t.lead_id, t.offered_to, "Lead waiting for you", False, False)] += 1
        if 2 in acts:
            want[(t.lead_id, CHANNEL, "Lead open to anyone", True, False)] += 1
        if 3 in acts:
            want[(t.lead_id, t.offered_to, "Your lead has no first contact yet", False, False)] += 1
        if 4 in acts:
            want[(t.lead_id, ESCALATION, "SLA missed", False, True)] += 1
    assert sent == want
