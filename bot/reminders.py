"""Follow-up reminders (SPEC §6): from a Nurture date or `/leads remind`, a DM to the owner.

Each reminder is a `timers` row of kind `follow_up`, scheduled in the transaction
that asks for it and fired like the SLA's steps (`store/timers.py: claim_due`):
once, also across restarts and replicas. The DM carries the lead's card.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.lead import CLOSED_STATES, LeadState
from bot.offers import Offers
from bot.sla import SLA_NOTICE
from store import leads as lead_store
from store import outbox as outbox_store
from store import timers as timer_store
from store.db import Database
from store.models import Timer

FOLLOW_UP = "follow_up"
NOTE_LIMIT = 300
#: A date without a time means this hour, in the workspace's timezone.
DEFAULT_HOUR = time(9, 0)
_RELATIVE = re.compile(r"^(\d{1,3})([mhd])$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class WhenError(ValueError):
    """A reminder time that cannot be read; the message is for the person."""


def parse_when(words: list[str], now: datetime, tz: ZoneInfo) -> tuple[datetime, list[str]]:
    """The moment named by the first words (and the words left over: the note).

    Accepts `30m`, `2h`, `3d`, `tomorrow [HH:MM]`, `YYYY-MM-DD [HH:MM]`; a day without
    a time means 09:00 in `tz`. The moment must be in the future and within a year.
    """
    if not words:
        raise WhenError("say when, like `2h`, `tomorrow` or `2026-12-01 14:00`")
    first, rest = words[0].lower(), list(words[1:])
    relative = _RELATIVE.match(first)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(days=amount)
        )
        moment = now + delta
    else:
        if first == "tomorrow":
            day = now.astimezone(tz).date() + timedelta(days=1)
        else:
            try:
                day = date.fromisoformat(first)
            except ValueError:
                raise WhenError(
                    f"can't read `{first[:20]}` as a time: use `2h`, `3d`, `tomorrow` "
                    "or a date like `2026-12-01`"
                ) from None
        at = DEFAULT_HOUR
        if rest and _CLOCK.match(rest[0]):
            hour, minute = rest.pop(0).split(":")
            at = time(int(hour), int(minute))
        moment = datetime.combine(day, at, tzinfo=tz)
    if moment <= now:
        raise WhenError("that time has already passed")
    if moment > now + timedelta(days=366):
        raise WhenError("pick a time within the next year")
    return moment, rest


@dataclass(frozen=True)
class ReminderResult:
    due_at: datetime | None = None
    refusal: str | None = None


class Reminders:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        wake_outbox: Callable[[], None],
        offers: Offers,
        timezone: ZoneInfo,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._offers = offers
        self._tz = timezone

    async def remind(self, lead_id: int, actor: str, words: list[str]) -> ReminderResult:
        """`/leads remind`: the owner (or a manager) asks to be reminded about a lead."""
        now = self._clock.now()
        try:
            due, note_words = parse_when(words, now, self._tz)
        except WhenError as exc:
            return ReminderResult(refusal=str(exc))
        async with self._db.transaction() as session:
            lead = await lead_store.get_lead(session, lead_id)
            if lead is None:
                return ReminderResult(refusal=f"There is no lead #{lead_id}.")
            if lead.owner_id != actor and not self._offers.is_manager(actor):
                return ReminderResult(
                    refusal="Only the lead's owner or a manager can set its reminders."
                )
            await self.schedule(session, lead_id, due, note=" ".join(note_words), by=actor, now=now)
        return ReminderResult(due_at=due)

    async def schedule(
        self,
        session: AsyncSession,
        lead_id: int,
        due: datetime,
        *,
        note: str,
        by: str,
        now: datetime,
    ) -> None:
        """Add a follow-up reminder in the caller's transaction (Nurture uses this)."""
        last = await session.scalar(
            select(func.max(Timer.step)).where(Timer.lead_id == lead_id, Timer.kind == FOLLOW_UP)
        )
        await timer_store.schedule(
            session,
            lead_id=lead_id,
            kind=FOLLOW_UP,
            steps=[((last or 0) + 1, due)],
            payload={"note": note[:NOTE_LIMIT], "by": by},
        )
        await lead_store.add_event(
            session,
            lead_id=lead_id,
            kind="reminder_set",
            actor=by,
            at=now,
            data={"due": due.isoformat()},
        )

    async def fire_due(self, limit: int = 200) -> int:
        """DM the owner of each lead whose reminder is due; how many were sent."""
        sent = 0
        while True:
            now = self._clock.now()
            async with self._db.transaction() as session:
                due = await timer_store.claim_due(session, now=now, kinds=[FOLLOW_UP], limit=limit)
                for timer in due:
                    if await self._fire(session, timer, now):
                        sent += 1
            if sent:
                self._wake_outbox()
            if len(due) < limit:
                return sent

    async def _fire(self, session: AsyncSession, timer: Timer, now: datetime) -> bool:
        lead = await lead_store.fresh_lead(session, timer.lead_id) if timer.lead_id else None
        if lead is None or LeadState(lead.state) in CLOSED_STATES or lead.erased_at is not None:
            return False  # an erased person is not followed up
        to = lead.owner_id or str(timer.payload.get("by") or "")
        if not to:
            return False
        note = str(timer.payload.get("note") or "")
        text = "Follow-up reminder" + (f": {note}" if note else ": time to follow up on this lead.")
        await outbox_store.enqueue(
            session,
            kind=SLA_NOTICE,
            ordering_key=f"dm:{to}",
            lead_id=lead.id,
            payload={"to": to, "text": text, "here": False, "escalation": False},
            now=now,
        )
        await lead_store.add_event(
            session,
            lead_id=lead.id,
            kind="reminded",
            actor="scheduler",
            at=now,
            data={"to": to, "step": timer.step},
        )
        return True
