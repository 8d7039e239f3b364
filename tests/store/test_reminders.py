"""Follow-up reminders: Nurture's date and `/leads remind` DM the owner once, when due."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.domain.lead import LeadAction
from bot.erasure import Erasure
from bot.leads import LeadIntake
from bot.offers import Offers
from bot.reminders import Reminders
from bot.sla import SLA_NOTICE
from store.db import Database
from store.models import OutboxMessage
from tests.factories import intake, make_leads, make_work, seed_directory

CONFIG = load_config(EXAMPLE_CONFIG_PATH)


async def dms(db: Database) -> list[dict[str, object]]:
    async with db.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == SLA_NOTICE).order_by(OutboxMessage.id)
        )
        return [dict(r.payload) for r in rows]


async def owned_lead(db: Database, clock: FakeClock, owner: str) -> tuple[int, LeadIntake]:
    """A new person's lead, claimed by `owner`; its id and the person."""
    async with db.transaction() as session:
        await seed_directory(session)
    leads = make_leads(db, clock)
    person = intake()
    lead_id = await leads.capture(person, actor="t")
    assert (await leads.claim(lead_id, owner)).won
    return lead_id, person


async def test_a_remind_request_dms_the_owner_once_when_due(db: Database, clock: FakeClock) -> None:
    lead_id, _ = await owned_lead(db, clock, "U0REP000")
    reminders = Reminders(db, clock, lambda: None, Offers(CONFIG), ZoneInfo("Europe/London"))
    refused = await reminders.remind(lead_id, "U0REP001", ["2h"])
    assert refused.refusal == "Only the lead's owner or a manager can set its reminders."
    assert (await reminders.remind(lead_id, "U0REP000", ["soon"])).refusal
    assert (await reminders.remind(999, "U0REP000", ["2h"])).refusal == "There is no lead #999."
    done = await reminders.remind(lead_id, "U0REP000", ["2h", "call", "back"])
    assert done.due_at == clock.now() + timedelta(hours=2)
    clock.advance(7199)
    assert await reminders.fire_due() == 0
    clock.advance(1)
    assert await reminders.fire_due() == 1
    assert await reminders.fire_due() == 0
    [dm] = [d for d in await dms(db) if str(d["text"]).startswith("Follow-up")]
    assert dm["to"] == "U0REP000" and dm["text"] == "Follow-up reminder: call back"


async def test_nurture_with_a_date_reminds_the_owner_that_morning(
    db: Database, clock: FakeClock
) -> None:
    lead_id, _ = await owned_lead(db, clock, "U0REP001")
    work = make_work(db, clock)
    day = (clock.now() + timedelta(days=10)).date()
    assert (await work.act(lead_id, LeadAction.NURTURE, "U0REP001", follow_up=day)).done
    reminders = Reminders(db, clock, lambda: None, Offers(CONFIG), ZoneInfo("Europe/London"))
    morning = work.follow_up_moment(day)
    clock.advance((morning - clock.now()).total_seconds() - 1)
    assert await reminders.fire_due() == 0
    clock.advance(1)
    assert await reminders.fire_due() == 1
    [dm] = [d for d in await dms(db) if str(d["text"]).startswith("Follow-up")]
    assert dm["to"] == "U0REP001"


async def test_a_reminder_about_an_erased_person_is_not_sent(
    db: Database, clock: FakeClock
) -> None:
    lead_id, person = await owned_lead(db, clock, "U0REP000")
    reminders = Reminders(db, clock, lambda: None, Offers(CONFIG), ZoneInfo("Europe/London"))
    assert (await reminders.remind(lead_id, "U0REP000", ["2h", "call", "back"])).due_at
    assert person.email is not None
    await Erasure(db, clock, lambda: None, "GB").forget("U0MGR", person.email.normalized)
    clock.advance(7200)
    assert await reminders.fire_due() == 0
    assert not [d for d in await dms(db) if str(d["text"]).startswith("Follow-up")]
