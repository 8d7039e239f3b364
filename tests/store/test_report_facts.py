"""The reports' projection stays equal to the event log (bot/metrics.py).

Two replicas (each its own `Database`, as two processes) capture, claim, work and
release leads while both run the projector over and over at the same time. At
the end every event is marked projected and every lead's stored facts equal a
fresh fold of its whole history: no pass wrote facts from a stale snapshot, and
no event written during a pass was marked without being folded.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.app import directory_rows
from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.domain.lead import LeadAction
from bot.domain.metrics import project
from bot.metrics import Projector
from store import metrics as metrics_store
from store.db import Database
from store.directory import sync_directory
from store.models import Lead, LeadEvent, LeadFact, LeadRepFact
from tests.factories import intake, make_leads, make_work
from tests.harness import without_exclusivity

CONFIG = without_exclusivity(load_config(EXAMPLE_CONFIG_PATH))
REPS = ("U0ALICE1", "U0BOB001", "U0CARMEN")


def wall(_queue: str | None, start, end) -> float:  # type: ignore[no-untyped-def]
    return (end - start).total_seconds()


async def stored_facts(db: Database) -> tuple[dict[int, dict], dict[tuple[int, str], dict]]:  # type: ignore[type-arg]
    async with db.reading() as session:
        leads = {
            f.lead_id: {c.key: getattr(f, c.key) for c in LeadFact.__table__.columns}
            for f in await session.scalars(select(LeadFact))
        }
        reps = {
            (r.lead_id, r.rep_id): {c.key: getattr(r, c.key) for c in LeadRepFact.__table__.columns}
            for r in await session.scalars(select(LeadRepFact))
        }
    return leads, reps


async def folded_now(db: Database) -> tuple[dict[int, dict], dict[tuple[int, str], dict]]:  # type: ignore[type-arg]
    """Every lead folded afresh from the log as it stands."""
    async with db.reading() as session:
        ids = list(await session.scalars(select(Lead.id)))
        histories, _read = await metrics_store.histories(session, ids)
        sources = await metrics_store.sources(session, ids)
    leads: dict[int, dict] = {}  # type: ignore[type-arg]
    reps: dict[tuple[int, str], dict] = {}  # type: ignore[type-arg]
    for lead_id in ids:
        projected = project(lead_id, histories.get(lead_id, []), wall, source=sources[lead_id])
        assert projected is not None
        facts, rep_facts = projected
        leads[lead_id] = {**asdict(facts), "stage": int(facts.stage)}
        for r in rep_facts:
            reps[(lead_id, r.rep_id)] = asdict(r)
    return leads, reps


async def test_two_replicas_keep_the_projection_equal_to_the_log(
    database_url: str, clock: FakeClock
) -> None:
    dbs = [Database(database_url, pool_size=10) for _ in range(2)]
    try:
        async with dbs[0].transaction() as session:
            await sync_directory(session, *directory_rows(CONFIG))
        leads = [make_leads(db, clock, config=CONFIG) for db in dbs]
        work = [make_work(db, clock, config=CONFIG) for db in dbs]
        projectors = [Projector(db, wall, batch=7) for db in dbs]  # small batches: many passes
        rng = random.Random(7)
        captured: list[int] = []
        stop = asyncio.Event()

        async def keep_projecting(projector: Projector) -> None:
            while not stop.is_set():
                await projector.run_once()
                await asyncio.sleep(0)

        async def write(step: int) -> None:
            replica = step % 2
            clock.advance(rng.choice([1, 5, 30]))
            if not captured or rng.random() < 0.4:
                result = await leads[replica].capture_lead(
                    intake(source=f"src{step % 3}"), actor="api-key:1"
                )
                captured.append(result.lead_id)
                return
            lead_id = rng.choice(captured)
            rep = rng.choice(REPS)
            choice = rng.random()
            if choice < 0.4:
                await leads[replica].claim(lead_id, rep)
            else:
                async with dbs[replica].reading() as session:
                    owner = await session.scalar(select(Lead.owner_id).where(Lead.id == lead_id))
                action = rng.choice(
                    [LeadAction.CONTACTED, LeadAction.QUALIFIED, LeadAction.RELEASE, LeadAction.WON]
                )
                await work[replica].act(lead_id, action, owner or rep)

        runners = [asyncio.create_task(keep_projecting(p)) for p in projectors]
        for batch in range(30):
            await asyncio.gather(*(write(batch * 8 + i) for i in range(8)))
        stop.set()
        await asyncio.gather(*runners)
        await projectors[0].catch_up()

        async with dbs[0].reading() as session:
            unprojected = await session.scalar(
                select(func.count()).select_from(LeadEvent).where(LeadEvent.projected.is_(False))
            )
            kinds = set(await session.scalars(select(LeadEvent.kind).distinct()))
        assert unprojected == 0
        # The run exercised what the projection folds, not only captures.
        assert {"captured", "offered", "claimed", "first_contact", "released"} <= kinds
        assert await stored_facts(dbs[0]) == await folded_now(dbs[0])
    finally:
        for db in dbs:
            await db.dispose()


async def test_new_events_reproject_the_lead(database_url: str, clock: FakeClock) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await sync_directory(session, *directory_rows(CONFIG))
        leads = make_leads(db, clock, config=CONFIG)
        projector = Projector(db, wall)
        lead_id = (await leads.capture_lead(intake(), actor="api-key:1")).lead_id
        assert await projector.catch_up() == 1
        assert await projector.catch_up() == 0  # nothing new: nothing done
        facts, _ = await stored_facts(db)
        assert facts[lead_id]["first_claimed_at"] is None
        clock.advance(timedelta(seconds=42).total_seconds())
        await leads.claim(lead_id, "U0BOB001")
        assert await projector.catch_up() == 1
        facts, reps = await stored_facts(db)
        assert facts[lead_id]["claim_seconds"] == 42 and facts[lead_id]["state"] == "claimed"
        assert reps[(lead_id, "U0BOB001")]["claims"] == 1
    finally:
        await db.dispose()


async def test_catch_up_waits_for_a_lead_another_transaction_holds(
    database_url: str, clock: FakeClock
) -> None:
    """A report reads its own writes: a lead whose events were committed before the
    catch-up, but whose row another transaction holds at that moment (the outbox
    recording its card's ts), is projected once that transaction ends, not skipped."""
    db = Database(database_url)
    # Another process on PostgreSQL. One SQLite file has one writing process (store/db.py),
    # whose writers queue on its lock: the holder is then another task of this one.
    holder = db if db.is_sqlite else Database(database_url)
    try:
        async with db.transaction() as session:
            await sync_directory(session, *directory_rows(CONFIG))
        leads = make_leads(db, clock, config=CONFIG)
        lead_id = (await leads.capture_lead(intake(), actor="api-key:1")).lead_id
        projector = Projector(db, wall)
        held = asyncio.Event()
        release = asyncio.Event()

        async def hold_the_lead() -> None:
            async with holder.transaction() as session:
                await session.execute(
                    update(Lead).where(Lead.id == lead_id).values(slack_ts="1700000000.000100")
                )
                held.set()
                await release.wait()

        holding = asyncio.create_task(hold_the_lead())
        await held.wait()
        catching_up = asyncio.create_task(projector.catch_up())
        await asyncio.sleep(0.2)
        release.set()
        await holding
        assert await catching_up == 1
        facts, _ = await stored_facts(db)
        assert lead_id in facts
    finally:
        if holder is not db:
            await holder.dispose()
        await db.dispose()
