"""Score decay: points halve per half-life of inactivity, from the last active score."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.decay import ScoreDecay
from bot.domain.scoring import ScoringModel
from store.db import Database
from store.models import Lead
from tests.factories import insert_lead


async def grade_of(db: Database, lead_id: int) -> tuple[int, str | None]:
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        return lead.score, lead.grade


async def test_open_leads_decay_from_their_last_active_score_and_closed_ones_do_not(
    db: Database, clock: FakeClock
) -> None:
    model = load_config(EXAMPLE_CONFIG_PATH).scoring_model()
    assert model.half_life is not None and (model.mql, model.sql) == (20, 40)
    start = clock.now()
    async with db.transaction() as session:
        hot = await insert_lead(
            session,
            at=start,
            email_normalized="a@example.com",
            score=80,
            grade="SQL",
            routing={"score": {"base": 80}},
        )
        won = await insert_lead(
            session, at=start, state="won", score=80, grade="SQL", routing={"score": {"base": 80}}
        )
    decay = ScoreDecay(db, clock, model)
    assert await decay.run() == 0  # nothing idle yet
    clock.advance(model.half_life.total_seconds())
    assert await decay.run() == 1
    assert await grade_of(db, hot) == (40, "SQL")
    assert await decay.run() == 0  # idempotent: computed from the base, not the last run
    clock.advance(model.half_life.total_seconds())
    await decay.run()
    assert await grade_of(db, hot) == (20, "MQL")
    clock.advance(3 * model.half_life.total_seconds())
    await decay.run()
    assert await grade_of(db, hot) == (2, "IQL")  # 80 / 32, rounded; still has an email
    assert await grade_of(db, won) == (80, "SQL")


async def test_without_a_half_life_nothing_decays(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as session:
        lead = await insert_lead(session, at=clock.now(), score=50, grade="SQL")
    clock.advance(timedelta(days=400).total_seconds())
    assert await ScoreDecay(db, clock, ScoringModel.default()).run() == 0
    assert await grade_of(db, lead) == (50, "SQL")
