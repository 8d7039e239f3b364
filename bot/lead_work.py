"""Working a claimed lead: the card's Contacted, Qualified, Won, Lost, Nurture and Release.

Each action is one transaction: check who may do it and from which state
(`bot/domain/lead.py`), change the lead with a conditional update (so two
clicks at once change it once), record the event, and queue the card update.
Release puts the lead back in its queue and offers it to the next rep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.lead import ACTION_TO, LeadAction, LeadState, action_refusal
from bot.leads import UPDATE_CARD, channel_key
from bot.offers import Offers
from bot.reminders import Reminders
from bot.sla import SlaClock
from store import leads as lead_store
from store import outbox as outbox_store
from store.chat import set_first_contact
from store.db import Database
from store.models import Lead

LOST_REASON_LIMIT = 500
CHANGED_MEANWHILE = "The lead changed meanwhile; look at its card and try again."


@dataclass(frozen=True)
class ActionResult:
    """`done`, or the sentence telling the clicker why not."""

    done: bool
    refusal: str | None = None
    offered_to: str | None = None  # Release: the rep the lead was offered to next


class LeadWork:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        wake_outbox: Callable[[], None],
        offers: Offers,
        timezone: ZoneInfo,
        sla: SlaClock,
        reminders: Reminders,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._offers = offers
        self._tz = timezone
        self._sla = sla
        self._reminders = reminders

    async def check(self, lead_id: int, action: LeadAction, actor: str) -> ActionResult:
        """Whether `actor` may do `action` now (before a modal is opened for it)."""
        async with self._db.reading() as session:
            lead = await lead_store.get_lead(session, lead_id)
            refusal = self._refusal(lead, action, actor)
        return ActionResult(done=False, refusal=refusal)

    async def act(
        self,
        lead_id: int,
        action: LeadAction,
        actor: str,
        *,
        reason: str | None = None,
        follow_up: date | None = None,
    ) -> ActionResult:
        """Do `action` on the lead for `actor`: `reason` says why (Lost) or is a note
        (Nurture); `follow_up` is Nurture's date."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            lead = await lead_store.get_lead(session, lead_id)
            refusal = self._refusal(lead, action, actor)
            if refusal is not None or lead is None:
                return ActionResult(done=False, refusal=refusal)
            from_state = LeadState(lead.state)
            if action is LeadAction.RELEASE:
                offered_to = await self._release(session, lead, actor, now)
                result = ActionResult(done=True, offered_to=offered_to)
            else:
                values: dict[str, Any] = {}
                data: dict[str, Any] = {}
                if action is LeadAction.LOST:
                    values["lost_reason"] = data["reason"] = (reason or "").strip()[
                        :LOST_REASON_LIMIT
                    ]
                if action is LeadAction.NURTURE:
                    if follow_up is not None:
                        values["follow_up_at"] = self.follow_up_moment(follow_up)
                        data["follow_up"] = follow_up.isoformat()
                    if reason:
                        data["reason"] = reason.strip()[:LOST_REASON_LIMIT]
                to_state = ACTION_TO[action]
                assert to_state is not None
                if not await _change_state(session, lead.id, from_state, to_state, now, values):
                    return ActionResult(
                        done=False, refusal="The lead changed meanwhile; try again."
                    )
                await lead_store.add_event(
                    session,
                    lead_id=lead.id,
                    kind=action.value,
                    actor=actor,
                    at=now,
                    from_state=from_state.value,
                    to_state=to_state.value,
                    reason=data.get("reason"),
                    data=data,
                )
                if action is LeadAction.NURTURE and follow_up is not None:
                    await self._reminders.schedule(
                        session,
                        lead.id,
                        self.follow_up_moment(follow_up),
                        note=reason or "the follow-up date you set when nurturing it",
                        by=actor,
                        now=now,
                    )
                if action is LeadAction.CONTACTED and await set_first_contact(
                    session, lead.id, now
                ):
                    await lead_store.add_event(
                        session,
                        lead_id=lead.id,
                        kind="first_contact",
                        actor=actor,
                        at=now,
                        data={"via": "contacted_button"},
                    )
                result = ActionResult(done=True)
            await self._sla.on_change(session, lead.id, now)
            await outbox_store.enqueue(
                session,
                kind=UPDATE_CARD,
                ordering_key=channel_key(await lead_store.card_channel(session, lead.id) or "none"),
                lead_id=lead.id,
                now=now,
            )
        self._wake_outbox()
        return result

    def follow_up_moment(self, day: date) -> datetime:
        """A follow-up date means 9:00 that day in the workspace's timezone."""
        return datetime.combine(day, time(9, 0), tzinfo=self._tz)

    def _refusal(self, lead: Lead | None, action: LeadAction, actor: str) -> str | None:
        if lead is None:
            return "That lead no longer exists."
        return action_refusal(
            action,
            LeadState(lead.state),
            actor=actor,
            owner=lead.owner_id,
            manager=self._offers.is_manager(actor),
        )

    async def _release(
        self, session: AsyncSession, lead: Lead, actor: str, now: datetime
    ) -> str | None:
        owner = lead.owner_id
        from_state = LeadState(lead.state)
        released = await session.execute(
            update(Lead)
            .where(Lead.id == lead.id, Lead.state == from_state.value, Lead.owner_id == owner)
            .values(owner_id=None, claimed_at=None, state=LeadState.NEW.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if released.rowcount != 1:  # type: ignore[attr-defined]
            return None
        await lead_store.add_event(
            session,
            lead_id=lead.id,
            kind="released",
            actor=actor,
            at=now,
            from_state=from_state.value,
            to_state=LeadState.NEW.value,
            data={"rep": owner, "queue": lead.queue_id},
        )
        return await self._offers.offer_next(session, lead, now=now, actor=actor, passing=owner)


async def _change_state(
    session: AsyncSession,
    lead_id: int,
    from_state: LeadState,
    to_state: LeadState,
    now: datetime,
    values: dict[str, Any],
) -> bool:
    result = await session.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.state == from_state.value)
        .values(state=to_state.value, updated_at=now, last_activity_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
