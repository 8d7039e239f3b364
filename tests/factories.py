"""Small builders for test data, so tests state only what matters to them."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.contact import parse_email
from bot.leads import LeadIntake, QueueTarget
from store import leads as lead_store
from store.directory import QueueRow, RepRow, sync_directory


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
    session: AsyncSession, *, channel: str = "C0SALES01", reps: int = 3
) -> QueueTarget:
    """One default queue `sales` in `channel` with `reps` reps U0REP000…"""
    rep_rows = [RepRow(f"U0REP{i:03d}", f"Rep {i}", "UTC", 10, 1) for i in range(reps)]
    queue = QueueRow("sales", "Sales", channel, True, 120, tuple(r.id for r in rep_rows))
    await sync_directory(session, rep_rows, [queue])
    return QueueTarget("sales", channel)


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
