"""Round-robin fairness through the real use cases and store, across a restart (SPEC §5).

1,000 leads come into a queue of five reps who go away and come back and fill
up to their capacity and free it again along the way. The test keeps its own
account of who was available for each lead and from it alone the fair share
each rep is owed; the offers are what the `offered` events say.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select, update

from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.domain.lead import LeadAction
from bot.lead_work import LeadWork
from bot.leads import Leads
from bot.offers import Rotation
from store.db import Database
from store.models import LeadEvent, Rep
from tests.factories import (
    fairness_bound,
    intake,
    make_leads,
    make_work,
    offers_by_lead,
    seed_directory,
)

REPS = [f"U0REP{i:03d}" for i in range(5)]
CAPACITY = 3
LEADS = 1000
RESTART_AT = 500


@dataclass
class Replica:
    """One running bot's use cases on its own engines."""

    db: Database
    leads: Leads
    rotation: Rotation
    work: LeadWork


def start(url: str, clock: FakeClock) -> Replica:
    config = load_config(EXAMPLE_CONFIG_PATH)
    db = Database(url)
    return Replica(
        db,
        make_leads(db, clock, config=config),
        Rotation(db, clock),
        make_work(db, clock, config=config),
    )


@dataclass
class Team:
    """What the test itself did to the reps: who is away, which leads each one owns."""

    away: set[str]
    owned: dict[str, list[int]]

    def available(self) -> frozenset[str]:
        return frozenset(r for r in REPS if r not in self.away and len(self.owned[r]) < CAPACITY)


async def change_availability(
    bot: Replica, team: Team, unclaimed: list[int], rnd: random.Random
) -> None:
    """A new period: some reps go away or come back; some claim leads (up to capacity,
    or one), others win all they own and so free their capacity."""
    for rep in REPS:
        away = rnd.random() < 0.25
        if away != (rep in team.away):
            assert await bot.rotation.set_away(rep, away) is (not away)
            (team.away.add if away else team.away.discard)(rep)
        roll = rnd.random()
        if roll < 0.3:
            wanted = CAPACITY - len(team.owned[rep])
        elif roll < 0.5:
            wanted = min(1, CAPACITY - len(team.owned[rep]))
        else:
            wanted = 0
        for lead_id in unclaimed[:wanted]:
            assert (await bot.leads.claim(lead_id, rep)).won
            team.owned[rep].append(lead_id)
        del unclaimed[:wanted]
        if 0.5 <= roll < 0.8:
            for lead_id in team.owned[rep]:
                assert (await bot.work.act(lead_id, LeadAction.WON, rep)).done
            team.owned[rep].clear()


async def test_offers_stay_near_fair_share_through_changes_and_a_restart(
    database_url: str, clock: FakeClock
) -> None:
    rnd = random.Random(5)
    bot = start(database_url, clock)
    try:
        async with bot.db.transaction() as session:
            await seed_directory(session, reps=len(REPS))
            await session.execute(update(Rep).values(capacity=CAPACITY))
        team = Team(away=set(), owned={r: [] for r in REPS})
        captured: list[tuple[int, frozenset[str]]] = []
        unclaimed: list[int] = []
        next_change = 0
        for n in range(LEADS):
            if n == RESTART_AT:
                await bot.db.dispose()
                bot = start(database_url, clock)
            if n == next_change:
                await change_availability(bot, team, unclaimed, rnd)
                next_change += rnd.randint(10, 100)
            lead = await bot.leads.capture_lead(intake(), actor="test")
            captured.append((lead.lead_id, team.available()))
            unclaimed.append(lead.lead_id)
            clock.advance(30)

        async with bot.db.reading() as session:
            offered = await offers_by_lead(session)
            passed = Counter(
                (await session.execute(select(LeadEvent.reason).where(LeadEvent.kind == "passed")))
                .scalars()
                .all()
            )
            opened = await session.scalar(
                select(func.count()).select_from(LeadEvent).where(LeadEvent.kind == "opened")
            )
    finally:
        await bot.db.dispose()

    # Capacity and absence both really took reps out of the rotation.
    assert passed["at capacity"] > 100 and passed["away"] > 100, passed
    fair = dict.fromkeys(REPS, 0.0)
    offers = dict.fromkeys(REPS, 0)
    worst = 0.0
    for lead_id, available in captured:
        reps = offered.get(lead_id, [])
        if not available:
            assert reps == [], lead_id
            continue
        assert len(reps) == 1 and reps[0] in available, (lead_id, reps, available)
        for rep in available:
            fair[rep] += 1 / len(available)
        offers[reps[0]] += 1
        worst = max(worst, *(abs(offers[r] - fair[r]) for r in REPS))
    assert opened == sum(1 for _, available in captured if not available)
    assert sum(offers.values()) + (opened or 0) == LEADS
    assert worst <= fairness_bound(len(REPS)), (worst, offers, fair)
    # The acceptance bound, which this schedule meets (0.75 at worst); another schedule
    # may go just past one, which no rule can always avoid (see fairness_bound).
    assert worst <= 1, (worst, offers, fair)
