"""Shared fixtures. Store tests run on SQLite by default and on PostgreSQL when
LEADBOT_TEST_DATABASE_URL points at one (`.ci/run` runs the suite both ways)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.demo import seed_sandbox
from bot.slack_scopes import BOT_SCOPES
from sandbox import Sandbox
from store.db import Database
from store.migrate import upgrade
from store.models import Base
from tests.harness import BOT_TOKEN, SIGNING_SECRET, RunningBot, running_bot

TEST_DATABASE_ENV = "LEADBOT_TEST_DATABASE_URL"


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"leadbot store backend: {os.environ.get(TEST_DATABASE_ENV) or 'sqlite (temporary files)'}"
    )


async def _reset_postgres(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(db)
    finally:
        await db.dispose()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database to start each test from: a SQLite file, or the PostgreSQL URL."""
    pg_url = os.environ.get(TEST_DATABASE_ENV)
    if pg_url:
        asyncio.run(_reset_postgres(pg_url))
        return pg_url
    template = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{template}"))
    return str(template)


@pytest.fixture
def database_url(_migrated_template: str, tmp_path: Path) -> str:
    """A URL for an empty, migrated database private to this test."""
    if os.environ.get(TEST_DATABASE_ENV):
        asyncio.run(_truncate_all(_migrated_template))
        return _migrated_template
    path = tmp_path / "leadbot-test.db"
    shutil.copyfile(_migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _truncate_all(url: str) -> None:
    db = Database(url)
    try:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=25)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def slack() -> AsyncIterator[Sandbox]:
    """A started Slack sandbox seeded with the example config's reps, managers and channels."""
    sandbox = Sandbox(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, scopes=BOT_SCOPES)
    seed_sandbox(sandbox, load_config(EXAMPLE_CONFIG_PATH))
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def bot(database_url: str, slack: Sandbox) -> AsyncIterator[RunningBot]:
    """The real bot with the `slack` sandbox as its Slack, both ways (Web API and inbound)."""
    async with running_bot(database_url, slack.api_url) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running
