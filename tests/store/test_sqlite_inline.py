"""SQLite writes run inline on the event loop; reads keep aiosqlite's threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from store.db import BACKSTOP_CHECKPOINT_PAGES, Database


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


def wal_bytes(db: Database) -> int:
    return Path(f"{db.url.database}-wal").stat().st_size


async def test_the_wal_is_copied_back_by_checkpoint_not_by_the_loops_commits(
    sqlite_db: Database,
) -> None:
    """A write commit on the loop never checkpoints (that was a copy and an fsync in the
    middle of a turn); `Database.checkpoint`, on a thread, does, and the WAL then starts
    afresh instead of growing."""
    async with sqlite_db.reading() as session:
        assert await session.scalar(text("PRAGMA wal_autocheckpoint")) == 1000  # SQLite's own
    async with sqlite_db.transaction() as session:
        limit = await session.scalar(text("PRAGMA wal_autocheckpoint"))
    assert limit == BACKSTOP_CHECKPOINT_PAGES
    for i in range(1500):  # well past SQLite's default threshold of 1,000 pages
        async with sqlite_db.transaction() as session:
            await session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"{i:04d}" * 300})
    result = await sqlite_db.checkpoint()
    assert result is not None
    frames, copied = result
    assert frames >= 1500 and copied == frames  # nothing had been copied back before
    size = wal_bytes(sqlite_db)
    async with sqlite_db.transaction() as session:  # the next writer starts the WAL afresh
        await session.execute(text("INSERT INTO t (v) VALUES ('after')"))
    frames, copied = await sqlite_db.checkpoint() or (0, 0)
    assert 0 < frames < 10 and copied == frames  # the row and its index entry, from the start
    assert wal_bytes(sqlite_db) == size  # the file reused, not grown
    async with sqlite_db.reading() as session:
        assert await session.scalar(text("SELECT count(*) FROM t")) == 1501
    await sqlite_db.dispose()


async def test_checkpoint_is_nothing_to_do_off_sqlite_files() -> None:
    memory = Database("sqlite+aiosqlite:///:memory:")
    assert await memory.checkpoint() is None
    await memory.dispose()
