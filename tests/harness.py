"""Run the real bot (aiohttp app, Bolt, dispatcher) on a loopback port for a test."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.apikeys import create_api_key
from bot.app import Services, build_services, build_web_app
from bot.clock import Clock, SystemClock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.config.sla import StepConfig
from bot.settings import Settings
from bot.sla import SLA_TIMER
from sandbox import RecordedCall, Sandbox
from store import outbox as outbox_store
from store.db import Database
from store.models import LeadEvent, Timer

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
UNREACHABLE_SLACK = "http://127.0.0.1:9/api/"


@dataclass
class RunningBot:
    url: str
    services: Services
    api_key: str

    async def post_lead(
        self,
        body: Any,
        *,
        key: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        hdrs = {
            "Authorization": f"Bearer {self.api_key if key is None else key}",
            "Content-Type": "application/json",
        }
        hdrs.update(headers or {})
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.url}/api/leads",
                json=None if raw is not None else body,
                data=raw,
                headers=hdrs,
            ) as resp,
        ):
            try:
                payload = await resp.json(content_type=None)
            except ValueError:
                payload = await resp.text()
            return resp.status, payload


@asynccontextmanager
async def running_bot(
    database_url: str,
    slack_api_url: str = UNREACHABLE_SLACK,
    *,
    config: LeadbotConfig | Callable[[str], LeadbotConfig] | None = None,
    clock: Clock | None = None,
    auto_upgrade: bool = False,
    outbox_max_backoff: float = 30.0,
) -> AsyncIterator[RunningBot]:
    """The bot on a free loopback port. `config` may be a function of the bot's URL, for a
    configuration that names the bot itself (e.g. its own origin as a widget site)."""
    with socket.socket() as sock:  # bound first: the URL is known before the config
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        if callable(config):
            config = config(url)
        settings = Settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack_api_url,
            database_url=database_url,
            config_path=EXAMPLE_CONFIG_PATH,
            outbox_max_backoff_seconds=outbox_max_backoff,
        )
        services = build_services(
            settings, config or load_config(EXAMPLE_CONFIG_PATH), clock=clock, poll_interval=0.2
        )
        runner = web.AppRunner(build_web_app(services, auto_upgrade=auto_upgrade), access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        api_key = await create_api_key(services.db, clock or SystemClock(), "test")
        try:
            yield RunningBot(url, services, api_key)
        finally:
            await runner.cleanup()


def without_exclusivity(config: LeadbotConfig | None = None) -> LeadbotConfig:
    """`config` (default: the example) with no exclusivity window on any queue, so any rep of
    the queue may claim a lead at once: for tests about something other than the window."""
    config = config or load_config(EXAMPLE_CONFIG_PATH)
    queues = tuple(q.model_copy(update={"exclusivity_seconds": 0}) for q in config.queues)
    return config.model_copy(update={"queues": queues})


def with_slow_ladders(config: LeadbotConfig | None = None) -> LeadbotConfig:
    """`config` (default: the example) with every queue's SLA ladder moved to hours instead of
    minutes: for tests that move a fake clock by minutes and are about something else."""
    config = config or load_config(EXAMPLE_CONFIG_PATH)
    queues = []
    for queue in config.queues:
        steps = tuple(
            StepConfig.model_validate(
                {
                    "after": f"{int(step.after.total_seconds() // 60)}h",
                    "if": step.condition.value,
                    "then": step.action.value,
                }
            )
            for step in config.queue_ladder(queue.id).steps
        )
        queues.append(queue.model_copy(update={"ladder": steps}))
    return config.model_copy(update={"queues": tuple(queues)})


def card_lead_id(metadata: dict[str, Any] | None) -> str | None:
    """The lead id a card carries in its message metadata (None for other messages)."""
    return ((metadata or {}).get("event_payload") or {}).get("lead_id")


async def wait_for_card(slack: Sandbox, lead_id: int | str, within: float = 5.0) -> RecordedCall:
    """Wait until the bot has posted the card of `lead_id`; the `chat.postMessage` call."""
    [call] = await slack.wait_for_call(
        "chat.postMessage",
        lambda c: card_lead_id(c.args.get("metadata")) == str(lead_id),
        timeout=within,
    )
    return call


def with_ladder(
    steps: list[tuple[str, str, str]], config: LeadbotConfig | None = None
) -> LeadbotConfig:
    """`config` (default: the example) with every queue's SLA ladder set to `steps`, each
    `(after, if, then)` as the file writes it, e.g. `("1s", "unclaimed", "dm_offered_rep")`:
    for tests that run a whole ladder on the real clock in seconds."""
    config = config or load_config(EXAMPLE_CONFIG_PATH)
    ladder = tuple(
        StepConfig.model_validate({"after": after, "if": if_, "then": then})
        for after, if_, then in steps
    )
    queues = tuple(q.model_copy(update={"ladder": ladder}) for q in config.queues)
    return config.model_copy(update={"queues": queues})


def ladder_yaml(steps: list[tuple[str, str, str]], indent: str = "    ") -> str:
    """`steps` as a queue's `ladder:` key in a config file (the form `with_ladder` takes)."""
    lines = [f"{indent}ladder:"]
    lines += [f"{indent}  - {{after: {a}, if: {i}, then: {t}}}" for a, i, t in steps]
    return "\n".join(lines) + "\n"


def posts(slack: Sandbox) -> list[tuple[str, str]]:
    """Every successful `chat.postMessage` so far, in order, as (channel, text)."""
    return [
        (str(c.args.get("channel")), str(c.args.get("text", "")))
        for c in slack.log.matching("chat.postMessage")
    ]


async def timer_rows(db: Database, lead_id: int) -> list[tuple[int, str, datetime | None]]:
    """The lead's SLA timers as (step, status, fired_at), by step."""
    async with db.reading() as session:
        rows = await session.scalars(
            select(Timer)
            .where(Timer.lead_id == lead_id, Timer.kind == SLA_TIMER)
            .order_by(Timer.step)
        )
        return [(t.step, t.status, t.fired_at) for t in rows]


async def sla_steps(db: Database, lead_id: int) -> list[dict[str, Any]]:
    """The data of the lead's `sla_step` events (the steps that acted), in the order stored."""
    async with db.reading() as session:
        rows = await session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id == lead_id, LeadEvent.kind == "sla_step")
            .order_by(LeadEvent.id)
        )
        return [{**e.data, "action": e.reason} for e in rows]


async def outbox_drained(db: Database) -> bool:
    """Whether every outbox row has been delivered (none pending or dead)."""
    async with db.reading() as session:
        return set(await outbox_store.count_by_status(session)) <= {"sent"}
