"""The manager reports (SPEC §7): catch the projection up, read grouped facts, build numbers.

Every report first runs the projector, so it counts every event committed before
the command arrived; then it reads in one read transaction. The definitions are
in `docs/metrics.md` and `bot/domain/metrics.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain import reports
from bot.domain.periods import Period, parse_period
from bot.metrics import Projector
from store import chat as chat_store
from store import metrics as metrics_store
from store.db import Database


@dataclass(frozen=True)
class RepsReport:
    lines: list[reports.RepLine]
    names: dict[str, str]


class Reports:
    def __init__(self, db: Database, clock: Clock, projector: Projector, tz: ZoneInfo) -> None:
        self._db = db
        self._clock = clock
        self._projector = projector
        self.tz = tz

    def period(self, text: str, *, whole: bool = False) -> Period:
        """The period a person typed (PeriodError says what is wrong)."""
        return parse_period(text, self._clock.now(), self.tz, whole=whole)

    async def summary(self, period: Period) -> reports.Summary:
        await self._projector.catch_up()
        async with self._db.reading() as session:
            groups = await metrics_store.cohort_groups(session, period.start, period.end)
            durations = {
                column: await metrics_store.duration_counts(
                    session, column, period.start, period.end
                )
                for column in (
                    "claim_seconds",
                    "claim_business_seconds",
                    "contact_seconds",
                    "contact_business_seconds",
                )
            }
        return reports.summarize(groups, durations)

    async def funnel(self, period: Period) -> list[reports.FunnelStep]:
        await self._projector.catch_up()
        async with self._db.reading() as session:
            groups = await metrics_store.cohort_groups(session, period.start, period.end)
        return reports.funnel(groups)

    async def sources(self, period: Period) -> list[reports.SourceLine]:
        await self._projector.catch_up()
        async with self._db.reading() as session:
            groups = await metrics_store.source_groups(session, period.start, period.end)
            costs = await metrics_store.costs_overlapping(session, period.start, period.end)
        return reports.source_lines(groups, reports.prorated_costs(costs, period.start, period.end))

    async def reps(self, period: Period) -> RepsReport:
        await self._projector.catch_up()
        async with self._db.reading() as session:
            groups = await metrics_store.rep_groups(session, period.start, period.end)
            wall = await metrics_store.rep_duration_counts(
                session, "contact_seconds", period.start, period.end
            )
            business = await metrics_store.rep_duration_counts(
                session, "contact_business_seconds", period.start, period.end
            )
            names = await chat_store.rep_names(session)
        return RepsReport(reports.rep_lines(groups, wall, business), names)

    async def set_cost(self, actor: str, source: str, amount: Decimal, period: Period) -> bool:
        """Record spend on `source` over `period`; True when it replaced an entry for it."""
        now: datetime = self._clock.now()
        async with self._db.transaction() as session:
            return await metrics_store.set_cost(
                session,
                source=source,
                start=period.start,
                end=period.end,
                amount=amount,
                by=actor,
                now=now,
            )
