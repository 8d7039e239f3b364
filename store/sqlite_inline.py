"""SQLite write connections that run on the event loop's own thread.

aiosqlite sends every call to a worker thread and back: each statement costs a
thread hop and, worse, a turn of a busy event loop before the transaction can
go on, all while SQLite's single write lock is held. Short write transactions
(everything leadbot writes outside migrations) spend far longer on those hops
than in SQLite. This module gives SQLAlchemy's aiosqlite dialect an object with
aiosqlite's interface whose calls run `sqlite3` directly, so a statement costs
tens of microseconds of loop time and a write transaction no longer stretches
with the load. Reads keep aiosqlite's threads, so a long report never blocks
the loop. Only one process should write the file at a time (SQLite's busy wait
would then block the loop); leadbot's own writers queue on an asyncio lock first.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any


class _InlineCursor:
    """aiosqlite's `Cursor` interface over a plain `sqlite3.Cursor`."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _InlineCursor:
        self._cursor.execute(sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class _RunNow:
    """Stands in for aiosqlite's request queue: SQLAlchemy puts (future, call) pairs on it."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, call = item
        try:
            result = call()
        except Exception as exc:
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection:
    """aiosqlite's `Connection` interface, running each call at once on the caller's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _InlineCursor:
        return _InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(path: str, timeout: float) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` that opens `path` inline."""

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, timeout=timeout, isolation_level=None))

    return connect
