"""The reports benchmark's data generator (bench/report_data.py) writes what the bot would.

A few hundred leads are generated into the test database through the bulk
loaders (raw sqlite3 / asyncpg COPY) and read back through the SQLAlchemy
models: every value is the one generated (so the raw formats are the ones the
models store), every history is a lifecycle the bot allows, and the stored facts
are exactly `project` of the stored events. A larger in-memory run checks that the
mix looks like a sales team's (the shares the benchmark's write-up quotes).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bench.report_data import business_clock, generate
from bench.report_histories import MONTHLY_SPEND, Histories
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.domain.lead import (
    ACTION_FROM,
    CLAIMABLE_STATES,
    CLOSED_STATES,
    OWNED_OPEN_STATES,
    LeadAction,
    LeadState,
)
from bot.domain.metrics import Event, project
from store.db import Database
from store.models import Lead, LeadEvent, LeadFact, LeadRepFact, QueueMember, SourceCost

CONFIG = load_config(EXAMPLE_CONFIG_PATH)
NOW = datetime(2026, 11, 30, 15, 7, tzinfo=UTC)
LEADS, DAYS, SEED = 300, 90, 7

#: The state an event may leave, by kind (None: the event does not change the state).
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "claimed": frozenset(s.value for s in CLAIMABLE_STATES),
    "released": frozenset(s.value for s in OWNED_OPEN_STATES | {LeadState.NURTURE}),
    "routed": frozenset({LeadState.NURTURE.value}),
    "spam": frozenset(s.value for s in set(LeadState) - CLOSED_STATES),
    **{a.value: frozenset(s.value for s in ACTION_FROM[a]) for a in LeadAction},
}


def _columns(row: Any, model: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in model.__table__.columns}


@pytest.fixture
async def generated(database_url: str) -> tuple[Database, Histories]:
    loaded = await generate(
        database_url, leads=LEADS, days=DAYS, seed=SEED, now=NOW, chunk=120, progress=lambda _: None
    )
    assert loaded.leads == LEADS
    # The same seed and `now` replay the same histories in memory, to compare with.
    replay = Histories(CONFIG, seed=SEED, now=NOW, api_key_id=loaded.api_key_id)
    return Database(database_url), replay


async def test_every_generated_value_reads_back_through_the_models(
    generated: tuple[Database, Histories],
) -> None:
    db, replay = generated
    expected = {h.lead_id: h for h in replay.stream(LEADS, DAYS)}
    try:
        async with db.reading() as session:
            leads = {lead.id: lead for lead in await session.scalars(select(Lead))}
            events = list(await session.scalars(select(LeadEvent).order_by(LeadEvent.id)))
    finally:
        await db.dispose()
    assert leads.keys() == expected.keys()
    for lead_id, lead in leads.items():
        assert _columns(lead, Lead) == expected[lead_id].lead
    stored = [
        (e.lead_id, e.kind, e.at, e.actor, e.from_state, e.to_state, e.reason, e.data)
        for e in events
    ]
    generated_rows = [
        (h.lead_id, e.kind, e.at, e.actor, e.from_state, e.to_state, e.reason, e.data)
        for h in expected.values()
        for e in h.events
    ]
    assert stored == generated_rows
    assert all(e.projected for e in events)
    assert all(e.at.tzinfo is UTC for e in events)


async def test_facts_are_the_projection_of_the_stored_events(
    generated: tuple[Database, Histories],
) -> None:
    db, _replay = generated
    business = business_clock(db, CONFIG)
    try:
        async with db.reading() as session:
            sources = dict((await session.execute(select(Lead.id, Lead.source))).all())
            histories: dict[int, list[Event]] = {lead_id: [] for lead_id in sources}
            for e in await session.scalars(select(LeadEvent).order_by(LeadEvent.id)):
                histories[e.lead_id].append(
                    Event(e.kind, e.at, e.actor, e.from_state, e.to_state, e.data)
                )
            facts = {
                f.lead_id: _columns(f, LeadFact) for f in await session.scalars(select(LeadFact))
            }
            rep_facts = {
                (r.lead_id, r.rep_id): _columns(r, LeadRepFact)
                for r in await session.scalars(select(LeadRepFact))
            }
            unprojected = await session.scalar(
                select(func.count()).select_from(LeadEvent).where(LeadEvent.projected.is_(False))
            )
    finally:
        await db.dispose()
    assert unprojected == 0
    folded: dict[int, dict[str, Any]] = {}
    folded_reps: dict[tuple[int, str], dict[str, Any]] = {}
    for lead_id, history in histories.items():
        projected = project(lead_id, history, business, source=sources[lead_id])
        assert projected is not None
        lead_facts, reps = projected
        folded[lead_id] = {**vars(lead_facts), "stage": int(lead_facts.stage)}
        folded_reps.update({(r.lead_id, r.rep_id): vars(r) for r in reps})
    assert facts == folded
    assert rep_facts == folded_reps
    assert rep_facts  # offers, claims and contacts were attributed to reps


async def test_histories_follow_the_lead_lifecycle(generated: tuple[Database, Histories]) -> None:
    db, _replay = generated
    try:
        async with db.reading() as session:
            leads = {lead.id: lead for lead in await session.scalars(select(Lead))}
            events = list(await session.scalars(select(LeadEvent).order_by(LeadEvent.id)))
            costs = list(await session.scalars(select(SourceCost)))
            offers = dict(
                (await session.execute(select(QueueMember.rep_id, QueueMember.offers_count))).all()
            )
    finally:
        await db.dispose()
    by_lead: dict[int, list[LeadEvent]] = {}
    for event in events:
        by_lead.setdefault(event.lead_id, []).append(event)
    kinds = Counter(e.kind for e in events)
    assert kinds["offered"] and kinds["claimed"] and kinds["sla_met"] and kinds["lost"]
    for lead_id, history in by_lead.items():
        assert [e.kind for e in history].count("captured") == 1
        assert history[0].kind == "captured"
        times = [e.at for e in history]
        assert times == sorted(times) and times[-1] <= NOW
        state = history[0].to_state
        assert state in ("new", "nurture")
        for event in history[1:]:
            if event.kind in ALLOWED_FROM:
                assert event.from_state == state, (lead_id, event.kind, event.from_state, state)
                assert state in ALLOWED_FROM[event.kind], (lead_id, event.kind, state)
            if event.kind == "claimed":
                assert event.actor in CONFIG.queue(leads[lead_id].queue_id or "").reps or (
                    event.actor in CONFIG.managers
                )
            state = event.to_state or state
        assert leads[lead_id].state == state
    # Every offer is counted in the rotation's balances.
    assert sum(offers.values()) == kinds["offered"]
    assert {c.source for c in costs} == set(MONTHLY_SPEND)


async def test_a_database_with_leads_is_refused_and_left_as_it_was(
    generated: tuple[Database, Histories],
) -> None:
    db, _replay = generated
    with pytest.raises(SystemExit, match="already holds leads"):
        await generate(str(db.url), leads=10, seed=1, now=NOW, progress=lambda _: None)
    try:
        async with db.reading() as session:
            assert await session.scalar(select(func.count()).select_from(Lead)) == LEADS
    finally:
        await db.dispose()


def test_the_mix_looks_like_a_sales_team() -> None:
    """Shares over 6,000 leads, in memory: the ranges the benchmark promises."""
    now = NOW
    simulation = Histories(CONFIG, seed=3, now=now, api_key_id=1)
    business = business_clock(Database("sqlite+aiosqlite:///unused.db"), CONFIG)
    facts = []
    captured = []
    for history in simulation.stream(6000, 365):
        projected = project(
            history.lead_id,
            [e.for_projection() for e in history.events],
            business,
            source=history.lead["source"],
        )
        assert projected is not None
        facts.append(projected[0])
        captured.append(history.lead["captured_at"])
    n = len(facts)

    def share(predicate: Any, among: list[Any] = facts) -> float:
        return sum(1 for f in among if predicate(f)) / len(among)

    posted = [f for f in facts if f.posted_at is not None and not f.spam]
    assert 0.40 <= share(lambda f: f.grade == "SQL") <= 0.52
    assert 0.02 <= share(lambda f: f.spam) <= 0.05
    assert 0.02 <= share(lambda f: f.merges > 0) <= 0.045
    assert share(lambda f: f.posted_at is not None and f.posted_at > f.captured_at) >= 0.005
    assert 0.15 <= share(lambda f: f.sla == "missed", posted) <= 0.25
    assert 0.05 <= share(lambda f: f.first_contact_at is None, posted) <= 0.10
    assert 0.02 <= share(lambda f: f.won_at is not None) <= 0.07
    assert len({f.source for f in facts}) >= 8
    # Growth: the last quarter of the period holds more than a quarter of the leads.
    recent = now - timedelta(days=365 // 4)
    assert sum(1 for at in captured if at >= recent) > 0.3 * n
    # Office hours: most leads arrive on weekdays.
    assert sum(1 for at in captured if at.weekday() < 5) > 0.8 * n
