"""Durable timers: due rows fire once, in due order, across concurrent claimers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.clock import FakeClock
from store import timers
from store.db import Database
from store.models import Timer
from tests.factories import insert_lead


async def test_due_timers_fire_once_in_due_order_and_cancelled_ones_never(
    db: Database, clock: FakeClock
) -> None:
    start = clock.now()
    async with db.transaction() as session:
        lead = await insert_lead(session, at=start)
        await timers.schedule(
            session,
            lead_id=lead,
            kind="sla",
            steps=[(i, start + timedelta(minutes=i + 1)) for i in range(5)],
        )
        assert await timers.next_due(session, kinds=["sla"]) == start + timedelta(minutes=1)
    async with db.transaction() as session:
        assert (
            await timers.claim_due(session, now=start + timedelta(seconds=59), kinds=["sla"]) == []
        )
        fired = await timers.claim_due(session, now=start + timedelta(minutes=2), kinds=["sla"])
        assert [t.step for t in fired] == [0, 1]
        assert all(
            t.status == "fired" and t.fired_at == start + timedelta(minutes=2) for t in fired
        )
    async with db.transaction() as session:
        assert await timers.cancel(session, lead_id=lead, kind="sla", steps=[3]) == 1
        assert await timers.cancel(session, lead_id=lead, kind="sla", steps=[]) == 0
        again = await timers.claim_due(session, now=start + timedelta(hours=1), kinds=["sla"])
        assert [t.step for t in again] == [2, 4]
        assert await timers.claim_due(session, now=start + timedelta(hours=1), kinds=["sla"]) == []
        assert await timers.next_due(session, kinds=["sla"]) is None
    async with db.reading() as session:
        rows = {t.step: t.status for t in await session.scalars(select(Timer))}
    assert rows == {0: "fired", 1: "fired", 2: "fired", 3: "cancelled", 4: "fired"}


async def test_concurrent_claimers_on_separate_engines_split_the_due_rows_without_overlap(
    db: Database, database_url: str, clock: FakeClock
) -> None:
    start = clock.now()
    async with db.transaction() as session:
        lead = await insert_lead(session, at=start)
        await timers.schedule(
            session,
            lead_id=lead,
            kind="sla",
            steps=[(i, start + timedelta(milliseconds=i)) for i in range(300)],
        )
    replicas = [Database(database_url) for _ in range(3)]

    async def drain(replica: Database) -> list[int]:
        got: list[int] = []
        while True:
            async with replica.transaction() as session:
                batch = await timers.claim_due(
                    session, now=start + timedelta(minutes=1), kinds=["sla"], limit=7
                )
            if not batch:
                return got
            got += [t.step for t in batch]

    try:
        results = await asyncio.gather(*(drain(r) for r in replicas * 2))
    finally:
        for replica in replicas:
            await replica.dispose()
    everything = [step for result in results for step in result]
    assert sorted(everything) == list(range(300))  # each fired exactly once
