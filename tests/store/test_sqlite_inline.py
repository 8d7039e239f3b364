"""SQLite writes run inline on the event loop; reads keep aiosqlite's threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from store.db import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    return db


async def test_writes_run_on_the_loop_thread_and_reads_on_a_worker(sqlite_db: Database) -> None:
    seen: dict[str, str] = {}
    loop_thread = threading.current_thread().name

    def where(name: str) -> str:
        seen[name] = threading.current_thread().name
        return name

    async with sqlite_db.transaction() as session:
        raw = await (await session.connection()).get_raw_connection()
        raw.driver_connection._conn.create_function("where_am_i", 1, where)  # type: ignore[union-attr]
        await session.execute(text("INSERT INTO t (v) VALUES (where_am_i('write'))"))
    async with sqlite_db.reading() as session:
        raw = await (await session.connection()).get_raw_connection()
        await raw.driver_connection.create_function("where_am_i", 1, where)  # type: ignore[union-attr]
        assert await session.scalar(text("SELECT where_am_i('read')")) == "read"
    assert seen["write"] == loop_thread
    assert seen["read"] != loop_thread
    await sqlite_db.dispose()


async def test_a_failed_write_rolls_back_and_raises_sqlalchemys_error(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with sqlite_db.transaction() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('b')"))
            await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
    async with sqlite_db.reading() as session:
        rows = (await session.execute(text("SELECT v FROM t ORDER BY v"))).scalars().all()
    assert rows == ["a"]  # 'b' went with the failed transaction
    await sqlite_db.dispose()
