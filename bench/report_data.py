"""A database of 1,000,000 leads with realistic event histories, for the reports benchmark.

Creates the schema with the project's migrations, mirrors the example
configuration's queues and reps, and fills `leads`, `lead_events` (every event
already projected), `lead_facts` and `lead_rep_facts` (each lead's history
folded by `bot.domain.metrics.project`, the projector's own code, with the
projector's business clock), `source_costs` (monthly spend on a few sources) and
the queues' rotation balances. The histories come from
`bench/report_histories.py`; the same seed and `now` give the same data.

Bulk loading writes the tables directly, in the formats SQLAlchemy stores (see
`store/types.py`): on SQLite plain `sqlite3` `executemany` in one transaction per
chunk (WAL, `synchronous=OFF` while loading); on PostgreSQL asyncpg's
`copy_records_to_table`, then `VACUUM ANALYZE` as autovacuum would. Chunks of
`--chunk` leads keep memory bounded. The database must hold no leads yet.

    .venv/bin/python -m bench.report_data --url URL --leads 1000000 [--days 730] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import asyncpg
from sqlalchemy import JSON, Boolean, Table, func, select, text, update

from bench.report_histories import Histories, History, Team, monthly_costs
from bot.app import directory_rows
from bot.clock import SystemClock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.domain import metrics
from bot.metrics import business_time_of
from bot.offers import Offers
from bot.sla import SlaClock
from store import apikeys as key_store
from store.db import Database
from store.directory import sync_directory
from store.migrate import upgrade
from store.models import Lead, LeadEvent, LeadFact, LeadRepFact, QueueMember, SourceCost
from store.types import UTCDateTime

API_KEY_NAME = "report-data"

Convert = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Loaded:
    leads: int
    events: int
    rep_facts: int
    seconds: float
    api_key_id: int
    bytes: int


def business_clock(db: Database, config: LeadbotConfig) -> metrics.BusinessTime:
    """The business clock the running bot's projector uses (`bot/metrics.py`)."""
    sla = SlaClock(db, SystemClock(), lambda: None, Offers(config), config)
    return business_time_of(sla)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _sqlite_moment(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME: naive UTC, always with microseconds.
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _json(value: Any) -> str:
    return json.dumps(value)  # what SQLAlchemy's JSON type writes (json.dumps, defaults)


def converters(table: Table, dialect: str) -> list[Convert]:
    """Per column of `table`, how a Python value becomes what the driver is given."""
    found: list[Convert] = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, UTCDateTime):
            found.append(_sqlite_moment if dialect == "sqlite" else None)
        elif isinstance(kind, JSON):
            found.append(_json)
        elif isinstance(kind, Boolean) and dialect == "sqlite":
            found.append(lambda v: None if v is None else int(v))
        else:
            found.append(None)
    return found


class Rows:
    """One chunk's rows per table, already in the target database's formats."""

    def __init__(self, dialect: str) -> None:
        models = (
            ("leads", Lead),
            ("lead_events", LeadEvent),
            ("lead_facts", LeadFact),
            ("lead_rep_facts", LeadRepFact),
        )
        self.tables = {name: _table(model) for name, model in models}
        self.columns = {name: [c.name for c in t.columns] for name, t in self.tables.items()}
        self._convert = {name: converters(t, dialect) for name, t in self.tables.items()}
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.tables}

    def add(self, table: str, values: dict[str, Any]) -> None:
        self.rows[table].append(
            tuple(
                values[name] if convert is None else convert(values[name])
                for name, convert in zip(self.columns[table], self._convert[table], strict=True)
            )
        )

    def clear(self) -> None:
        for rows in self.rows.values():
            rows.clear()


def add_history(
    rows: Rows, history: History, first_event_id: int, business: metrics.BusinessTime
) -> int:
    """The lead, its events (projected) and its facts, folded by `project`; events added."""
    rows.add("leads", history.lead)
    for offset, event in enumerate(history.events):
        rows.add(
            "lead_events",
            {
                "id": first_event_id + offset,
                "lead_id": history.lead_id,
                "kind": event.kind,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "actor": event.actor,
                "reason": event.reason,
                "data": event.data,
                "at": event.at,
                "projected": True,
            },
        )
    projected = metrics.project(
        history.lead_id,
        [e.for_projection() for e in history.events],
        business,
        source=history.lead["source"],
    )
    assert projected is not None, "every history starts with its capture"
    lead_facts, rep_facts = projected
    rows.add("lead_facts", {**vars(lead_facts), "stage": int(lead_facts.stage)})
    for rep in rep_facts:
        rows.add("lead_rep_facts", vars(rep))
    return len(history.events)


class SqliteLoader:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=OFF",
            "cache_size=-1048576",  # 1 GiB
            "temp_store=MEMORY",
        ):
            self._conn.execute(f"PRAGMA {pragma}")

    async def write(self, rows: Rows) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        for table, values in rows.rows.items():
            if values:
                columns = rows.columns[table]
                marks = ", ".join("?" * len(columns))
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
                )
        conn.execute("COMMIT")

    async def finish(self) -> None:
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()


class PostgresLoader:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @classmethod
    async def connect(cls, db: Database) -> PostgresLoader:
        dsn = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(await asyncpg.connect(dsn))

    async def write(self, rows: Rows) -> None:
        async with self._conn.transaction():
            for table, values in rows.rows.items():
                if values:
                    await self._conn.copy_records_to_table(
                        table, records=values, columns=rows.columns[table]
                    )

    async def finish(self) -> None:
        for table in ("leads", "lead_events"):
            await self._conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        await self._conn.execute("VACUUM ANALYZE")
        await self._conn.close()


async def prepare(db: Database, config: LeadbotConfig) -> int:
    """Schema, queues and reps, and the API key the API leads came in with (its id)."""
    await upgrade(db)
    async with db.transaction() as session:
        if await session.scalar(select(func.count()).select_from(Lead)):
            raise SystemExit("the database already holds leads: report_data needs an empty one")
        await sync_directory(session, *directory_rows(config))
        raw = secrets.token_hex(16)
        key = await key_store.insert_api_key(
            session, name=API_KEY_NAME, key_hash=raw * 2, prefix=raw[:10], now=datetime.now(UTC)
        )
        return key.id


async def record_rest(
    db: Database, team: Team, now: datetime, days: int, managers: Sequence[str]
) -> None:
    """The rotation balances the offers left, and monthly spend on the paid sources."""
    async with db.transaction() as session:
        for queue_id, balances in team.balances.items():
            for rep_id, (earned, offers, last) in balances.items():
                await session.execute(
                    update(QueueMember)
                    .where(QueueMember.queue_id == queue_id, QueueMember.rep_id == rep_id)
                    .values(earned=earned, offers_count=offers, last_offered_at=last)
                )
        for source, start, end, amount in monthly_costs(now, days):
            session.add(
                SourceCost(
                    source=source,
                    period_start=start,
                    period_end=end,
                    amount=Decimal(amount),
                    created_by=managers[0],
                    created_at=min(end, now),
                )
            )


def _file_bytes(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


async def database_bytes(db: Database) -> int:
    if db.is_sqlite:
        return _file_bytes(db.url.database or "")
    async with db.reading() as session:
        return int(await session.scalar(text("SELECT pg_database_size(current_database())")) or 0)


async def generate(
    url: str,
    *,
    leads: int,
    days: int = 730,
    seed: int = 1,
    now: datetime | None = None,
    chunk: int = 10_000,
    config: LeadbotConfig | None = None,
    progress: Callable[[str], None] = print,
) -> Loaded:
    """Fill the (empty) database at `url`; what was written and how long it took."""
    config = config or load_config(EXAMPLE_CONFIG_PATH)
    now = now or datetime.now(UTC).replace(second=0, microsecond=0)
    started = time.perf_counter()
    db = Database(url)
    try:
        api_key_id = await prepare(db, config)
        dialect = db.engine.dialect.name
        loader: SqliteLoader | PostgresLoader
        if db.is_sqlite:
            loader = SqliteLoader(db.url.database or "")
        else:
            loader = await PostgresLoader.connect(db)
        simulation = Histories(config, seed=seed, now=now, api_key_id=api_key_id)
        business = business_clock(db, config)
        rows = Rows(dialect)
        events = rep_facts = done = 0
        for history in simulation.stream(leads, days):
            events += add_history(rows, history, events + 1, business)
            done += 1
            if done % chunk == 0 or done == leads:
                rep_facts += len(rows.rows["lead_rep_facts"])
                await loader.write(rows)
                rows.clear()
                elapsed = time.perf_counter() - started
                progress(
                    f"{done:>9,} leads {events:>11,} events  {elapsed:7.1f} s  "
                    f"{done / elapsed:8,.0f} leads/s"
                )
        await loader.finish()
        await record_rest(db, simulation.team, now, days, config.managers)
        size = await database_bytes(db)
    finally:
        await db.dispose()
    return Loaded(done, events, rep_facts, time.perf_counter() - started, api_key_id, size)


def _print_summary(loaded: Loaded, url: str) -> None:
    print(
        f"done: {loaded.leads:,} leads, {loaded.events:,} events, {loaded.rep_facts:,} rep facts "
        f"in {loaded.seconds:.0f} s; database {loaded.bytes / 2**30:.2f} GiB ({url.split(':')[0]})"
    )


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="database URL (SQLite file or PostgreSQL)")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730, help="captures spread over these days")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=10_000, help="leads per transaction")
    args = parser.parse_args(list(argv) if argv is not None else None)
    loaded = asyncio.run(
        generate(args.url, leads=args.leads, days=args.days, seed=args.seed, chunk=args.chunk)
    )
    _print_summary(loaded, args.url)


if __name__ == "__main__":
    main()
