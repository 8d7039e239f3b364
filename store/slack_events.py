"""Slack event ids already seen, so a retried delivery is handled once (SPEC §10).

Callers own the session. `first_sighting` is one INSERT … ON CONFLICT DO
NOTHING: the primary key decides, so any number of replicas racing on the same
retry agree on exactly one winner without a read-then-write window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import SlackEventSeen


async def first_sighting(session: AsyncSession, event_id: str, now: datetime) -> bool:
    """Record `event_id` as seen at `now`; True only for the caller that recorded it first."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(SlackEventSeen)
        .values(event_id=event_id, seen_at=now)
        .on_conflict_do_nothing(index_elements=[SlackEventSeen.event_id])
    )
    result = await session.execute(statement)
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def prune_seen(session: AsyncSession, older_than: datetime) -> int:
    """Forget ids seen before `older_than` (Slack stops retrying within minutes); how many."""
    result = await session.execute(
        delete(SlackEventSeen)
        .where(SlackEventSeen.seen_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
