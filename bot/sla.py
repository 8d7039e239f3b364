"""The five-minute SLA (SPEC §6): each posted lead's escalation ladder as durable timers.

`start` schedules one `timers` row per ladder step when a lead is posted to a
queue, with due times counted in the queue's business hours
(`bot/domain/sla.py`). A claim cancels the steps that wait for a claim; first
contact or closing the lead cancels them all and records the outcome.
`fire_due` (a scheduler job) claims due rows and does each step's work in the
same transaction (`store/timers.py`), so a step fires once, also after a crash
or with several replicas; what reaches Slack goes through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import LeadbotConfig
from bot.domain import sla
from bot.domain.hours import WeeklyHours
from bot.domain.lead import CLOSED_STATES, LeadState
from bot.offers import Offers
from store import leads as lead_store
from store import outbox as outbox_store
from store import timers as timer_store
from store.db import Database
from store.models import Lead, Timer

SLA_TIMER = "sla"
#: Outbox kind: a nag or escalation message (rendered at delivery from the stored lead).
SLA_NOTICE = "sla_notice"
UPDATE_CARD = "update_card"


def _channel_key(channel_id: str) -> str:
    return f"channel:{channel_id}"


#: Steps fired per transaction. On SQLite the write runs on the event loop: passes of 200
#: held it (and the write lock) for up to half a second under 5,000 widget sessions, and
#: every visitor's turn waited; a short pass lets turns in between, at a commit per pass.
SLA_PASS = 10


@dataclass(frozen=True)
class SlaPlan:
    """A lead's ladder from its start: (step, due) per step that can fire, and its clock."""

    queue_id: str
    steps: list[tuple[int, datetime]]
    clock: dict[str, Any]


class SlaClock:
    """Schedules, cancels and fires the ladder's steps; the outcome as events."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        wake_outbox: Callable[[], None],
        offers: Offers,
        config: LeadbotConfig,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._offers = offers
        self._ladders = {q.id: config.queue_ladder(q.id) for q in config.queues}
        self._hours = {q.id: config.queue_hours(q.id) for q in config.queues}
        self._escalation_channel = config.sla.escalation_channel
        self._managers = tuple(config.managers)

    def ladder(self, queue_id: str | None) -> sla.Ladder:
        return self._ladders.get(queue_id or "") or sla.Ladder.default()

    def hours(self, queue_id: str | None) -> tuple[WeeklyHours, ZoneInfo]:
        return self._hours.get(queue_id or "") or (WeeklyHours.always(), ZoneInfo("UTC"))

    # ----------------------------------------------------------- in other transactions

    def plan(self, queue_id: str, captured_at: datetime) -> SlaPlan:
        """The queue's ladder for a lead posted at `captured_at`: its steps' due times and the
        clock the card shows. Pure, so a new lead can be inserted with its clock."""
        ladder = self.ladder(queue_id)
        hours, tz = self.hours(queue_id)
        due = sla.due_times(ladder, hours, tz, captured_at)
        deadline = sla.deadline(ladder, hours, tz, captured_at)
        clock = {
            "start": captured_at.isoformat(),
            "due": deadline.isoformat() if deadline else None,
            "queue": queue_id,
        }
        steps = [(i, at) for i, at in enumerate(due) if at is not None]
        return SlaPlan(queue_id, steps, clock)

    async def schedule(self, session: AsyncSession, lead_id: int, plan: SlaPlan) -> None:
        """The plan's steps as pending timers; the caller stores `plan.clock` on the lead
        (`with_sla`) with `sla_status` pending."""
        await timer_store.schedule(
            session,
            lead_id=lead_id,
            kind=SLA_TIMER,
            steps=plan.steps,
            payload={"queue": plan.queue_id},
        )

    async def cancel(self, session: AsyncSession, lead_id: int) -> None:
        """Cancel the lead's pending steps (a lead posted again starts its clock afresh)."""
        await timer_store.cancel(session, lead_id=lead_id, kind=SLA_TIMER)

    async def on_change(self, session: AsyncSession, lead_id: int, now: datetime) -> None:
        """After a claim, first contact or close: cancel what can no longer apply, and
        record the outcome at first contact."""
        lead = await lead_store.fresh_lead(session, lead_id)
        if lead is None:
            return
        view = _clock_view(lead)
        ladder = self.ladder(lead.queue_id)
        cancel = sla.steps_to_cancel(ladder, view)
        if cancel:
            await timer_store.cancel(session, lead_id=lead_id, kind=SLA_TIMER, steps=list(cancel))
        if lead.first_contact_at is None or lead.sla_status not in ("pending", "missed"):
            return
        hours, tz = self.hours(lead.queue_id)
        outcome = sla.sla_outcome(ladder, hours, tz, view.captured_at, lead.first_contact_at)
        data = {
            "elapsed_seconds": outcome.elapsed.total_seconds(),
            "margin_seconds": outcome.margin.total_seconds(),
            "target_seconds": ladder.target.total_seconds(),
            "queue": lead.queue_id,
        }
        if lead.sla_status == "pending":
            kind, status = ("sla_met", "met") if outcome.met else ("sla_missed", "missed")
        else:  # missed earlier by the ladder: now say by how much, once
            kind, status = "sla_contact_late", "missed_contacted"
        routing = dict(lead.routing or {})
        routing["sla"] = {
            **(routing.get("sla") or {}),
            "elapsed_seconds": data["elapsed_seconds"],
            "margin_seconds": data["margin_seconds"],
        }
        await lead_store.set_lead(session, lead_id, sla_status=status, routing=routing)
        await lead_store.add_event(
            session, lead_id=lead_id, kind=kind, actor="sla", at=now, data=data
        )

    # ------------------------------------------------------------------ the job

    async def fire_due(self, limit: int = SLA_PASS) -> int:
        """Fire every step that is due now, oldest first, `limit` per transaction; how
        many acted."""
        acted = 0
        while True:
            now = self._clock.now()
            async with self._db.transaction() as session:
                due = await timer_store.claim_due(session, now=now, kinds=[SLA_TIMER], limit=limit)
                # One query each for the batch's leads and card channels, not one per step:
                # at 10,000 deadlines a minute the per-step round trips were the bottleneck.
                ids = {t.lead_id for t in due if t.lead_id is not None}
                leads = await _leads_by_id(session, ids)
                channels = await lead_store.card_channels(session, ids) if ids else {}
                changed: set[int] = set()
                for timer in due:
                    lead = leads.get(timer.lead_id) if timer.lead_id is not None else None
                    if lead is not None and lead.id in changed:  # an earlier step of this batch
                        lead = await lead_store.fresh_lead(session, lead.id)
                    if lead is None:
                        continue
                    if await self._fire(session, timer, lead, channels.get(lead.id), now):
                        acted += 1
                        changed.add(lead.id)
            if due:
                self._wake_outbox()
            if len(due) < limit:
                return acted

    async def _fire(
        self, session: AsyncSession, timer: Timer, lead: Lead, channel: str | None, now: datetime
    ) -> bool:
        ladder = self.ladder(lead.queue_id)
        if timer.step >= len(ladder.steps):
            return False  # the ladder was shortened since; nothing to do
        step = ladder.steps[timer.step]
        if not sla.applies(step, _clock_view(lead)):
            return False
        if lead.erased_at is not None and step.action is not sla.Action.MARK_MISSED:
            # The person asked to be forgotten: nobody is nagged, re-offered or told about
            # them any more. The clock still records its outcome, so the SLA reports count
            # the lead as they would have (a lead nobody answered in time is a miss).
            return False
        late = (now - timer.due_at).total_seconds()
        await lead_store.add_event(
            session,
            lead_id=lead.id,
            kind="sla_step",
            actor="sla",
            at=now,
            reason=step.action.value,
            data={"step": timer.step, "due": timer.due_at.isoformat(), "late_seconds": late},
        )
        channel = channel or "none"
        text = sla.nag_text(ladder, step, self._time_left(lead, ladder, now))
        if step.action is sla.Action.DM_OFFERED_REP and lead.offered_rep_id:
            await self._notice(session, lead, now, lead.offered_rep_id, text)
        elif step.action is sla.Action.REOFFER:
            await self._reoffer(session, lead, now)  # the new rep's offer DM carries the card
        elif step.action is sla.Action.OPEN_TO_CHANNEL:
            await lead_store.set_lead(session, lead.id, exclusive_until=None, updated_at=now)
            await lead_store.add_event(
                session,
                lead_id=lead.id,
                kind="opened",
                actor="sla",
                at=now,
                reason="unclaimed",
                data={"queue": lead.queue_id, "step": timer.step},
            )
            await self._notice(session, lead, now, channel, text, here=True)
        elif step.action is sla.Action.DM_OWNER and lead.owner_id:
            await self._notice(session, lead, now, lead.owner_id, text)
        elif step.action is sla.Action.MARK_MISSED:
            await lead_store.set_lead(session, lead.id, sla_status="missed", updated_at=now)
            await lead_store.add_event(
                session,
                lead_id=lead.id,
                kind="sla_missed",
                actor="sla",
                at=now,
                data={
                    "target_seconds": ladder.target.total_seconds(),
                    "queue": lead.queue_id,
                    "claimed": lead.owner_id is not None,
                },
            )
            if lead.erased_at is None:
                for target in self._escalation_targets():
                    await self._notice(session, lead, now, target, text, escalation=True)
        await outbox_store.enqueue(
            session, kind=UPDATE_CARD, ordering_key=_channel_key(channel), lead_id=lead.id, now=now
        )
        return True

    def _escalation_targets(self) -> tuple[str, ...]:
        if self._escalation_channel:
            return (self._escalation_channel,)
        return self._managers

    def _time_left(self, lead: Lead, ladder: sla.Ladder, now: datetime) -> timedelta:
        """Business time left before the SLA is missed."""
        hours, tz = self.hours(lead.queue_id)
        outcome = sla.sla_outcome(ladder, hours, tz, sla_start(lead), None, now)
        return max(timedelta(0), outcome.margin)

    async def _reoffer(self, session: AsyncSession, lead: Lead, now: datetime) -> str | None:
        """Offer the lead to the next rep (not the one who let it wait); who that is."""
        previous = lead.offered_rep_id
        if previous:
            await lead_store.add_event(
                session,
                lead_id=lead.id,
                kind="offer_timeout",
                actor="sla",
                at=now,
                data={"rep": previous, "queue": lead.queue_id},
            )
        return await self._offers.offer_next(session, lead, now=now, actor="sla", passing=previous)

    async def _notice(
        self,
        session: AsyncSession,
        lead: Lead,
        now: datetime,
        to: str,
        text: str,
        *,
        here: bool = False,
        escalation: bool = False,
    ) -> None:
        """Queue a nag or escalation to `to` (a user id: their DM; or a channel)."""
        await outbox_store.enqueue(
            session,
            kind=SLA_NOTICE,
            ordering_key=_channel_key(to) if to.startswith(("C", "G")) else f"dm:{to}",
            lead_id=lead.id,
            payload={"to": to, "text": text, "here": here, "escalation": escalation},
            now=now,
        )


def sla_start(lead: Lead) -> datetime:
    """When the lead's SLA clock started: when it was posted to its queue."""
    started = ((lead.routing or {}).get("sla") or {}).get("start")
    return datetime.fromisoformat(started) if started else lead.captured_at


def _clock_view(lead: Lead) -> sla.LeadClock:
    state = LeadState(lead.state)
    return sla.LeadClock(
        captured_at=sla_start(lead),
        owner=lead.owner_id,
        first_contact_at=lead.first_contact_at,
        closed=state in CLOSED_STATES or state is LeadState.NURTURE,
    )


async def _leads_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Lead]:
    """The leads as stored now (see `store.leads.fresh_lead`), by id, locked in id order
    on PostgreSQL: a rep's action on one of them at this moment (which skips the timers
    being fired here, `store.timers.cancel`) commits first, and its step then sees it."""
    if not ids:
        return {}
    rows = await session.scalars(
        select(Lead)
        .where(Lead.id.in_(ids))
        .order_by(Lead.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {lead.id: lead for lead in rows}


def with_sla(routing: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The routing note with the SLA clock the card shows."""
    return {**routing, "sla": values}
