"""Kill -9 the real `leadbot serve` process mid-delivery; after restart every lead has one card.

Two crash windows (SPEC §10):
- after the lead is stored but before its card is posted (Slack was failing);
- after Slack stored the card but before the bot recorded its `ts` (the
  response never arrived): the restarted bot must find the card by its
  metadata, not post it again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.apikeys import create_api_key
from bot.clock import SystemClock
from bot.config import EXAMPLE_CONFIG_PATH
from sandbox import Sandbox
from store.db import Database
from store.models import Lead, OutboxMessage
from tests.harness import BOT_TOKEN, SIGNING_SECRET, card_lead_id

SALES = "C0SALES01"
ROOT = Path(__file__).resolve().parents[1]
LEASE_SECONDS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`leadbot serve` in a child process, killable with SIGKILL."""

    def __init__(self, database_url: str, slack_api_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api_url,
            "DATABASE_URL": database_url,
            "LEADBOT_CONFIG": str(EXAMPLE_CONFIG_PATH),
            "LEADBOT_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                env=self.env,
                cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        await until(self._healthy, within=30, what="bot to answer /healthz")

    async def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.returncode is not None:
            raise AssertionError(f"bot exited: {self.log_path.read_text(errors='replace')}")
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def until(condition: Callable[[], object], *, within: float, what: str) -> None:
    """Wait for an observable condition in another process (there is nothing to await on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def api_key(db: Database) -> str:
    return await create_api_key(db, SystemClock(), "crash-test")


async def send_lead(bot: BotProcess, api_key: str, email: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{bot.url}/api/leads",
            json={"email": email, "name": "Crash Test"},
            headers={"Authorization": f"Bearer {api_key}"},
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()
        return int((await resp.json())["id"])


def cards_for(slack: Sandbox, lead_id: int) -> list[str]:
    return [m.ts for m in slack.messages(SALES) if card_lead_id(m.metadata) == str(lead_id)]


async def outbox_status(db: Database, lead_id: int) -> list[str]:
    """The status of the lead's card row (the offer's DM row is another matter)."""
    async with db.reading() as session:
        return list(
            await session.scalars(
                select(OutboxMessage.status).where(
                    OutboxMessage.lead_id == lead_id, OutboxMessage.kind == "post_card"
                )
            )
        )


async def test_killed_before_the_card_is_posted(
    database_url: str, slack: Sandbox, db: Database, api_key: str, tmp_path: Path
) -> None:
    slack.set_fault("chat.postMessage", status=503)
    bot = BotProcess(database_url, slack.api_url, tmp_path / "bot.log")
    try:
        await bot.start()
        lead_id = await send_lead(bot, api_key, "before-post@example.com")
        await until(
            lambda: any(c.method == "chat.postMessage" and c.status == 503 for c in slack.calls),
            within=10,
            what="a failed post attempt",
        )
        await bot.kill()
        async with db.reading() as session:
            lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.slack_ts is None
        assert await outbox_status(db, lead_id) == ["pending"]
        assert cards_for(slack, lead_id) == []

        slack.clear_faults()
        await bot.start()
        await until(
            lambda: _sent(db, lead_id), within=30, what="the card to be delivered after restart"
        )
        assert len(cards_for(slack, lead_id)) == 1
        async with db.reading() as session:
            lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.slack_ts == cards_for(slack, lead_id)[0]
    finally:
        await bot.stop()


async def _sent(db: Database, lead_id: int) -> bool:
    return await outbox_status(db, lead_id) == ["sent"]


async def test_killed_after_slack_stored_the_card_but_before_its_ts_was_recorded(
    database_url: str, slack: Sandbox, db: Database, api_key: str, tmp_path: Path
) -> None:
    slack.set_fault("chat.postMessage", delay=60)  # Slack posts, but the answer never comes back
    bot = BotProcess(database_url, slack.api_url, tmp_path / "bot.log")
    try:
        await bot.start()
        lead_id = await send_lead(bot, api_key, "mid-post@example.com")
        await until(lambda: cards_for(slack, lead_id), within=10, what="the card to reach Slack")
        await bot.kill()
        async with db.reading() as session:
            lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.slack_ts is None  # the bot never learned the ts

        slack.clear_faults()
        await bot.start()
        await until(lambda: _sent(db, lead_id), within=30, what="the outbox row to settle")
        assert len(cards_for(slack, lead_id)) == 1, "the card was posted twice"
        async with db.reading() as session:
            lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.slack_ts == cards_for(slack, lead_id)[0]
        assert any(c.method == "conversations.history" for c in slack.calls)
    finally:
        await bot.stop()
