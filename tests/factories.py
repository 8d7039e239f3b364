"""Small builders for test data, so tests state only what matters to them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.domain.contact import parse_email
from bot.lead_work import LeadWork
from bot.leads import LeadIntake, Leads, QueueTarget
from bot.offers import Offers
from bot.qualify import Qualifier
from bot.reminders import Reminders
from bot.sla import SlaClock
from store import leads as lead_store
from store.db import Database
from store.directory import QueueRow, RepRow, sync_directory
from store.models import LeadEvent


async def insert_lead(session: AsyncSession, *, at: datetime, **fields: Any) -> int:
    """A `new` lead with its `captured` event, as capture would store it."""
    values: dict[str, Any] = {
        "state": "new",
        "intake": "api",
        "email": "a@example.com",
        "score_reasons": [],
    }
    values.update(fields)
    lead = await lead_store.insert_lead(session, now=at, **values)
    await lead_store.add_event(
        session, lead_id=lead.id, kind="captured", actor="test", at=at, to_state="new"
    )
    return lead.id


async def seed_directory(
    session: AsyncSession, *, channel: str = "C0SALES01", reps: int = 3, exclusivity: int = 0
) -> QueueTarget:
    """One default queue `sales` in `channel` with `reps` reps U0REP000… (no exclusivity
    window unless asked: most store tests are about something else)."""
    rep_rows = [RepRow(f"U0REP{i:03d}", f"Rep {i}", "UTC", 10, 1) for i in range(reps)]
    queue = QueueRow("sales", "Sales", channel, True, exclusivity, tuple(r.id for r in rep_rows))
    await sync_directory(session, rep_rows, [queue])
    return QueueTarget("sales", channel)


def make_leads(
    db: Database,
    clock: Clock,
    wake: Callable[[], None] = lambda: None,
    config: LeadbotConfig | None = None,
) -> Leads:
    """`Leads` scored and routed by `config` (default: the example configuration)."""
    config = config or load_config(EXAMPLE_CONFIG_PATH)
    offers = Offers(config)
    return Leads(
        db, clock, wake, Qualifier(config), offers, SlaClock(db, clock, wake, offers, config)
    )


def make_work(
    db: Database,
    clock: Clock,
    wake: Callable[[], None] = lambda: None,
    config: LeadbotConfig | None = None,
) -> LeadWork:
    """`LeadWork` as the app builds it, from `config` (default: the example)."""
    config = config or load_config(EXAMPLE_CONFIG_PATH)
    offers = Offers(config)
    sla = SlaClock(db, clock, wake, offers, config)
    tz = ZoneInfo(config.workspace.timezone)
    reminders = Reminders(db, clock, wake, offers, tz)
    return LeadWork(db, clock, wake, offers, tz, sla, reminders)


_people = itertools.count(1)


def intake(**fields: Any) -> LeadIntake:
    """A lead from a new person each time (`patN@example.com`), so dedup never merges
    two of them unless a test gives the same email or phone on purpose."""
    values: dict[str, Any] = {
        "intake": "api",
        "email": parse_email(f"pat{next(_people)}@example.com"),
        "name": "Pat",
    }
    values.update(fields)
    return LeadIntake(**values)


async def offers_by_lead(session: AsyncSession) -> dict[int, list[str]]:
    """The reps each lead was offered to, in order, from its `offered` events."""
    rows = await session.execute(
        select(LeadEvent.lead_id, LeadEvent.data)
        .where(LeadEvent.kind == "offered")
        .order_by(LeadEvent.id)
    )
    offered: dict[int, list[str]] = {}
    for lead_id, data in rows.all():
        offered.setdefault(lead_id, []).append(data["rep"])
    return offered


def fairness_bound(reps: int) -> float:
    """How far a rep's count of offers may stray from their fair share (the sum, over the
    leads they were available for, of their weight over the available reps' total weight).

    Not one: once a queue has five reps no rule can promise that when availability
    changes at the wrong moments (tests/unit/test_rotation.py shows how). For the
    balance rule of bot/domain/rotation.py with equal weights the worst case is
    (n-1)/2 — the greedy rule of the carpool problem (Ajtai, Aspnes, Naor, Rabani,
    Schulman, Waarts, "Fairness in scheduling", J. Algorithms 29, 1998).
    """
    return max(1.0, (reps - 1) / 2)
