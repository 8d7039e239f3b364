"""Keeps the reports' projection (`lead_facts`, `lead_rep_facts`) equal to the event log.

Writers only append to `lead_events`; nothing on the capture or claim path pays
for reports. The projector (a scheduler job, and a catch-up before every report)
takes leads with unprojected events, re-reads each one's whole history, folds it
with `bot.domain.metrics.project`, swaps the lead's facts, and marks exactly the
events it read, all in one transaction. An event committed meanwhile stays
unprojected for the next pass; on PostgreSQL each lead is locked (skipping ones
another replica holds) so two replicas never write one lead's facts at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bot.domain import metrics
from bot.domain.hours import open_seconds_between
from bot.sla import SlaClock
from store import metrics as metrics_store
from store.db import Database

log = logging.getLogger(__name__)


def business_time_of(sla: SlaClock) -> metrics.BusinessTime:
    """Business seconds between two instants in a queue's configured business hours."""

    def business(queue_id: str | None, start: datetime, end: datetime) -> float:
        hours, tz = sla.hours(queue_id)
        return open_seconds_between(hours, tz, start, end)

    return business


class Projector:
    """Folds leads' new events into the reports' facts, `batch` leads per transaction.

    The batch is small on purpose: on SQLite the write runs on the event loop, and a
    pass of 500 leads held it (and the write lock) for up to 300 ms under 5,000 widget
    sessions, stalling every visitor's turn meanwhile."""

    def __init__(self, db: Database, business: metrics.BusinessTime, batch: int = 25) -> None:
        self._db = db
        self._business = business
        self._batch = batch

    async def run_once(self) -> int:
        """Project one batch of leads with new events; how many leads were projected."""
        async with self._db.transaction() as session:
            pending = await metrics_store.unprojected_leads(session, self._batch)
            lead_ids = await metrics_store.lock_leads(session, pending)
            if not lead_ids:
                return 0
            histories, read = await metrics_store.histories(session, lead_ids)
            sources = await metrics_store.sources(session, lead_ids)
            leads: list[metrics.LeadFacts] = []
            reps: list[metrics.RepFacts] = []
            for lead_id in lead_ids:
                projected = metrics.project(
                    lead_id,
                    histories.get(lead_id, []),
                    self._business,
                    source=sources.get(lead_id),
                )
                if projected is not None:
                    leads.append(projected[0])
                    reps.extend(projected[1])
            await metrics_store.replace_facts(session, lead_ids, leads, reps)
            await metrics_store.mark_projected(session, read)
            return len(lead_ids)

    async def catch_up(self, max_passes: int = 1000, *, settle: float = 2.0) -> int:
        """Project every event written before this call (within `max_passes` batches); how
        many leads were projected. A report calls this first, to read its own writes.

        A pass skips the leads another transaction holds (PostgreSQL: the card's ts being
        recorded, the projector job on another replica), so their events are waited for:
        passes repeat, briefly apart, until none written before the call is left or
        `settle` seconds have gone."""
        async with self._db.reading() as session:
            horizon = await metrics_store.last_unprojected_event(session)
        if horizon is None:
            return 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settle
        done = 0
        for _ in range(max_passes):
            projected = await self.run_once()
            done += projected
            if projected >= self._batch:
                await asyncio.sleep(0)  # the loop's other work between two passes
                continue
            async with self._db.reading() as session:
                left = await metrics_store.unprojected_up_to(session, horizon)
            if not left or loop.time() >= deadline:
                break
            await asyncio.sleep(0.01)
        return done

    async def run(self) -> None:
        """The scheduler job."""
        done = await self.catch_up()
        if done:
            log.debug("projected %d leads for reports", done)
