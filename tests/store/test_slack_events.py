"""Seen Slack event ids: one winner per id across sessions, and pruning by age."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.clock import FakeClock
from bot.slack_events import EventLog
from store import slack_events as seen_store
from store.db import Database
from store.models import SlackEventSeen


async def seen_ids(db: Database) -> set[str]:
    async with db.reading() as session:
        return set(await session.scalars(select(SlackEventSeen.event_id)))


async def test_concurrent_sightings_of_one_event_have_exactly_one_winner(
    db: Database, clock: FakeClock
) -> None:
    async def sight() -> bool:
        async with db.transaction() as session:
            return await seen_store.first_sighting(session, "Ev0RACE", clock.now())

    results = await asyncio.gather(*(sight() for _ in range(20)))
    assert results.count(True) == 1
    assert await seen_ids(db) == {"Ev0RACE"}
    async with db.transaction() as session:
        assert await seen_store.first_sighting(session, "Ev0OTHER", clock.now())


async def test_prune_forgets_only_ids_older_than_the_cutoff(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as session:
        await seen_store.first_sighting(session, "Ev0OLD", clock.now())
        await seen_store.first_sighting(session, "Ev0EDGE", clock.advance(minutes=30))
        await seen_store.first_sighting(session, "Ev0NEW", clock.advance(minutes=30))
    async with db.transaction() as session:
        assert await seen_store.prune_seen(session, clock.now() - timedelta(minutes=30)) == 1
    assert await seen_ids(db) == {"Ev0EDGE", "Ev0NEW"}


async def test_event_log_prunes_every_n_new_ids(db: Database, clock: FakeClock) -> None:
    log = EventLog(db, clock, keep=timedelta(hours=1), prune_every=3)
    assert await log.first_sighting("Ev0A")
    assert not await log.first_sighting("Ev0A")  # a retry does not count toward pruning
    clock.advance(hours=2)
    assert await log.first_sighting("Ev0B")
    assert await seen_ids(db) == {"Ev0A", "Ev0B"}
    assert await log.first_sighting("Ev0C")  # the third new id prunes what is over an hour old
    assert await seen_ids(db) == {"Ev0B", "Ev0C"}
    assert await log.first_sighting("Ev0A")  # forgotten, so new again
