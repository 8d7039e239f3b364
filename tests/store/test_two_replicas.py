"""Two replicas of the bot on one database: the rotation and claims hold (SPEC §5).

Each replica has its own `Database` (its own engines and pool) and its own use
cases, as two processes would; on PostgreSQL their transactions really run at
once, so this is where the queue's lock and the conditional claim earn their keep.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.leads import Leads
from store.db import Database
from store.models import Lead, LeadEvent
from tests.factories import intake, make_leads, offers_by_lead, seed_directory

REPS = [f"U0REP{i:03d}" for i in range(5)]
LEADS = 200
WAVE = 20


@pytest.fixture
async def replicas(database_url: str, clock: FakeClock) -> AsyncIterator[list[Leads]]:
    dbs = [Database(database_url, pool_size=WAVE) for _ in range(2)]
    try:
        async with dbs[0].transaction() as session:
            await seed_directory(session, reps=len(REPS), exclusivity=0)
        yield [make_leads(db, clock) for db in dbs]
    finally:
        for db in dbs:
            await db.dispose()


async def test_two_replicas_capture_and_claim_at_once(
    replicas: list[Leads], database_url: str
) -> None:
    lead_ids: list[int] = []
    for _ in range(LEADS // WAVE):
        lead_ids += await asyncio.gather(
            *(replicas[i % 2].capture(intake(), actor=f"replica-{i % 2}") for i in range(WAVE))
        )
    assert len(set(lead_ids)) == LEADS

    db = Database(database_url)
    try:
        async with db.reading() as session:
            offered = await offers_by_lead(session)
        # Each lead offered exactly once, and the rotation stayed fair: the five reps were
        # always available, so each is owed exactly 200/5 = 40 offers (two offers chosen
        # from the same balances would leave one rep at 41 and another at 39).
        assert sorted(offered) == sorted(lead_ids)
        assert all(len(reps) == 1 for reps in offered.values())
        per_rep = Counter(reps[0] for reps in offered.values())
        assert per_rep == dict.fromkeys(REPS, LEADS // len(REPS)), per_rep

        # Every rep clicks Claim on every lead, half of them through each replica.
        for start in range(0, LEADS, WAVE // len(REPS)):
            wave = lead_ids[start : start + WAVE // len(REPS)]
            await asyncio.gather(
                *(
                    replicas[(n + k) % 2].claim(lead_id, rep)
                    for n, lead_id in enumerate(wave)
                    for k, rep in enumerate(REPS)
                )
            )
        async with db.reading() as session:
            rows = await session.execute(select(Lead.id, Lead.owner_id))
            owners = {lead_id: owner for lead_id, owner in rows.all()}
            claims = Counter(
                (
                    await session.execute(
                        select(LeadEvent.lead_id).where(LeadEvent.kind == "claimed")
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await db.dispose()
    assert all(owners[lead_id] in REPS for lead_id in lead_ids), owners
    assert claims == Counter(lead_ids)
