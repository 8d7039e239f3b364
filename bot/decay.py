"""Score decay (SPEC §4): a lead's points halve for every configured half-life of inactivity.

A recurring job recomputes each open lead's score from the points it had when
it was last active (kept in `leads.routing["score"]["base"]`), so running it
twice, or late, never decays twice. The card shows the new score the next time
it is drawn; a decayed score does not take a lead back out of its queue.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import Clock
from bot.domain.lead import CLOSED_STATES
from bot.domain.scoring import ScoringModel, rescore
from store import leads as lead_store
from store.db import Database
from store.models import Lead

PAGE = 500


class ScoreDecay:
    def __init__(self, db: Database, clock: Clock, model: ScoringModel) -> None:
        self._db = db
        self._clock = clock
        self._model = model

    async def run(self) -> int:
        """Bring every open lead's score and grade up to date; how many changed."""
        if self._model.half_life is None:
            return 0
        now = self._clock.now()
        changed, after = 0, 0
        while True:
            async with self._db.transaction() as session:
                rows = (
                    await session.execute(
                        select(
                            Lead.id,
                            Lead.score,
                            Lead.grade,
                            Lead.routing,
                            Lead.last_activity_at,
                            Lead.email_normalized,
                            Lead.phone_e164,
                        )
                        .where(
                            Lead.id > after,
                            Lead.state.not_in([s.value for s in CLOSED_STATES]),
                            Lead.erased_at.is_(None),
                        )
                        .order_by(Lead.id)
                        .limit(PAGE)
                    )
                ).all()
                for lead_id, score, grade, routing, active_at, email, phone in rows:
                    base = ((routing or {}).get("score") or {}).get("base", score)
                    points, new_grade = rescore(
                        self._model, int(base), active_at, now, bool(email or phone)
                    )
                    graded = new_grade.value if new_grade else None
                    if (points, graded) != (score, grade):
                        await lead_store.set_lead(session, lead_id, score=points, grade=graded)
                        changed += 1
            if len(rows) < PAGE:
                return changed
            after = rows[-1][0]
