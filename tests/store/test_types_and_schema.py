"""The schema: migrations match the models, and UTC datetimes round-trip on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from store.db import Database
from store.migrate import current_revision, head_revision, is_up_to_date, upgrade
from store.models import Base, LeadEvent
from tests.factories import insert_lead


async def test_migrations_create_exactly_the_models(db: Database) -> None:
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        return compare_metadata(
            MigrationContext.configure(sync_conn, opts={"compare_type": True}), Base.metadata
        )

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert await current_revision(db) == head_revision()
    assert await is_up_to_date(db)


async def test_upgrade_is_idempotent(db: Database) -> None:
    await upgrade(db)
    await upgrade(db)
    assert await is_up_to_date(db)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2))),  # converted to UTC
        datetime(1999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-8))),
    ],
)
async def test_utc_datetime_round_trips_as_aware_utc(db: Database, value: datetime) -> None:
    async with db.transaction() as session:
        lead = await insert_lead(session, at=value)
    async with db.reading() as session:
        event = (await session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead))).one()
    assert event.at == value
    assert event.at.tzinfo is not None and event.at.utcoffset() == timedelta(0)


async def test_utc_datetimes_sort_chronologically_across_input_offsets(db: Database) -> None:
    base = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    # 13:30+02:00 is 11:30 UTC: earlier than base although its wall-clock digits are larger.
    values = [
        base,
        datetime(2026, 6, 1, 13, 30, tzinfo=timezone(timedelta(hours=2))),
        base + timedelta(minutes=1),
    ]
    async with db.transaction() as session:
        for value in values:
            await insert_lead(session, at=value)
    async with db.reading() as session:
        ordered = list(await session.scalars(select(LeadEvent.at).order_by(LeadEvent.at)))
    assert ordered == sorted(values)


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"):
        async with db.transaction() as session:
            await insert_lead(session, at=datetime(2026, 1, 1, 12, 0))
