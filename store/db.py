"""Engines, sessions and the unit of work.

SQLite is the embedded default (WAL, foreign keys on). SQLite has one writer at
a time and a deferred transaction that later wants to write can fail instead of
waiting, so write transactions begin `IMMEDIATE` while read-only work uses a
second engine with plain `BEGIN`. Within one process, writers also queue on an
asyncio lock before `BEGIN`: SQLite's own busy handler waits by sleeping (up to
100 ms a time), which under load costs far more than the writes themselves;
`busy_timeout` still covers other processes. PostgreSQL uses one engine for both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.sqlite_inline import inline_creator

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///leadbot.db"
#: A write connection checkpoints by itself only when the WAL holds this many pages
#: (about 200 MB): if `Database.checkpoint` stops being called, the WAL still stays bounded.
BACKSTOP_CHECKPOINT_PAGES = 50_000
_T = TypeVar("_T")


def normalize_database_url(url: str) -> URL:
    """Accept the URLs operators write (`postgres://`, `sqlite:///x.db`) and pick async drivers."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(
            f"unsupported DATABASE_URL driver {parsed.drivername!r}: use sqlite:///FILE or postgresql://…"
        )
    return parsed


def _sqlite_engine(url: URL, *, immediate: bool, **kwargs: Any) -> AsyncEngine:
    if immediate and url.database and url.database != ":memory:":
        # Writers run sqlite3 inline on the loop (store/sqlite_inline.py); readers keep
        # aiosqlite's threads so a long read never blocks the loop.
        kwargs["async_creator"] = inline_creator(url.database, timeout=30)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
    _sqlite_events(engine.sync_engine, immediate=immediate)
    return engine


def _sqlite_events(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if immediate:
            # Writers run on the event loop, and SQLite's automatic checkpoint runs in the
            # commit that crosses its threshold: copying the WAL back and an fsync, which
            # stalled the loop for milliseconds at a time (and far longer on a busy disk).
            # `Database.checkpoint` does it on a thread; this is only a backstop.
            cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_core_engine(url: URL, echo: bool) -> Engine | None:
    """A plain (synchronous) engine on the same file for `Database.write_core`; None for an
    in-memory database, which a second engine would not see."""
    if not url.database or url.database == ":memory:":
        return None
    engine = create_engine(url.set(drivername="sqlite"), connect_args={"timeout": 30}, echo=echo)
    _sqlite_events(engine, immediate=True)
    return engine


class Database:
    """Owns the engines; hands out one `AsyncSession` per unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = normalize_database_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._core_engine: Engine | None = None
        self._checkpointer: sqlite3.Connection | None = None
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url, immediate=True, echo=echo)
            self.read_engine = _sqlite_engine(self.url, immediate=False, echo=echo)
            self._core_engine = _sqlite_core_engine(self.url, echo)
        else:
            self.engine = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, echo=echo, pool_pre_ping=True
            )
            self.read_engine = self.engine
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._write_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work that may write: committed on success, rolled back on error."""
        async with AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            session = await stack.enter_async_context(self._write_sessions())
            await stack.enter_async_context(session.begin())
            yield session

    async def write_core(self, work: Callable[[Connection], _T]) -> _T:
        """One unit of work that may write, as synchronous Core statements on a
        `Connection`: committed when `work` returns, rolled back if it raises.

        For the hot paths (a batch of widget turns, of new conversations): on SQLite
        `work` runs on a plain sqlite3 connection right here on the loop, under the
        same write lock as `transaction`, with no session, greenlet or await per
        statement; elsewhere it runs through the async driver (`run_sync`)."""
        if self._core_engine is None:
            async with AsyncExitStack() as stack:
                if self._write_lock is not None:
                    await stack.enter_async_context(self._write_lock)
                async_conn = await stack.enter_async_context(self.engine.begin())
                return await async_conn.run_sync(work)
        assert self._write_lock is not None
        async with self._write_lock:
            with self._core_engine.begin() as conn:
                return work(conn)

    async def checkpoint(self) -> tuple[int, int] | None:
        """Copy the SQLite WAL back into the database file, on a thread (the app calls this
        every second); (frames in the WAL, frames copied), or None when not on SQLite.

        PASSIVE: it waits for no reader or writer, so the loop's writers carry on. Frames a
        reader still needs are copied by a later call; a writer starts the WAL afresh once
        it is all copied."""
        database = self.url.database
        if not self.is_sqlite or not database or database == ":memory:":
            return None
        return await asyncio.to_thread(self._checkpoint, database)

    def _checkpoint(self, database: str) -> tuple[int, int]:
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(database, timeout=30, check_same_thread=False)
        _busy, frames, copied = self._checkpointer.execute(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchone()
        return frames, copied

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work; on SQLite it does not take the write lock."""
        async with self._read_sessions() as session, session.begin():
            yield session

    def check_sqlite_file(self) -> None:
        """Raise `sqlite3.Error` if the SQLite file cannot be opened, without a driver thread.

        A failed aiosqlite connect leaves its worker thread to report back after the
        event loop may have closed (a stray traceback at exit), so the common "cannot
        open the file" case is found first with a plain, synchronous `sqlite3.connect`.
        """
        database = self.url.database
        if not self.is_sqlite or not database or database == ":memory:":
            return
        sqlite3.connect(database).close()

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._core_engine is not None:
            self._core_engine.dispose()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
