"""`leadbot demo`: the bot and a local Slack sandbox on 127.0.0.1, seeded from the example."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
import urllib.parse
import webbrowser
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.apikeys import create_api_key
from bot.app import Services, build_services, build_web_app
from bot.clock import SystemClock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config, normalize_origin
from bot.domain.contact import parse_email
from bot.leads import LeadIntake
from bot.logs import configure_logging
from bot.settings import Settings
from bot.slack_scopes import BOT_SCOPES
from sandbox import Sandbox, apply_seed
from store.migrate import upgrade

DEMO_TOKEN = "xoxb-leadbot-demo"


def demo_workspace(config: LeadbotConfig) -> dict[str, list[dict[str, Any]]]:
    """The demo workspace as a sandbox seed (`sandbox.apply_seed`, or `python -m sandbox
    --seed FILE` for a sandbox in its own process): every rep and manager, one channel
    per queue, and the managers' escalation channel when the configuration names one."""
    reps = {r.id for r in config.reps}
    users: list[dict[str, Any]] = [
        {
            "id": rep.id,
            "name": rep.name.split()[0].lower(),
            "real_name": rep.name,
            "tz": rep.timezone or config.workspace.timezone,
        }
        for rep in config.reps
    ]
    users += [
        {
            "id": manager,
            "name": manager.lower(),
            "real_name": f"Manager {manager}",
            "tz": config.workspace.timezone,
            "is_admin": True,
        }
        for manager in config.managers
        if manager not in reps
    ]
    channels: list[dict[str, Any]] = [
        {"id": queue.channel, "name": queue.id, "members": [*queue.reps, *config.managers]}
        for queue in config.queues
    ]
    if config.sla.escalation_channel is not None:
        channels.append(
            {
                "id": config.sla.escalation_channel,
                "name": "sales-escalations",
                "members": list(config.managers),
            }
        )
    return {"users": users, "channels": channels}


def seed_sandbox(sandbox: Sandbox, config: LeadbotConfig) -> None:
    """The demo workspace (`demo_workspace`) in `sandbox`."""
    apply_seed(sandbox, demo_workspace(config))


#: Leads already waiting when the demo opens, so there is a card to claim at once.
SAMPLE_LEADS = (
    LeadIntake(
        intake="demo",
        name="Priya Raman",
        company="Globex",
        email=parse_email("priya.raman@globex.example"),
        source="website",
        answers={"budget": "Over $50k", "company_size": 250, "timeline": "This month"},
    ),
    LeadIntake(
        intake="demo",
        name="Marco Rossi",
        company="Umbrella Corp",
        email=parse_email("marco@umbrella.example"),
        source="webinar",
        answers={"budget": "$10k to $50k", "company_size": 80, "timeline": "This month"},
    ),
)


def page_url(sandbox_url: str, config: LeadbotConfig) -> str:
    """The sandbox page, acting as the default queue's first rep, looking at its channel."""
    queue = config.default_queue
    query = {"channel": queue.channel}
    if queue.reps:
        query["as"] = queue.reps[0]
    return f"{sandbox_url}/?{urllib.parse.urlencode(query)}"


def allowing_demo_origins(config: LeadbotConfig, host: str, port: int) -> LeadbotConfig:
    """The example's widget sites plus the demo bot itself, which serves the sample website
    (also as `localhost` when it listens on the loopback address)."""
    hosts = [host, "localhost"] if host == "127.0.0.1" else [host]
    origins = list(config.widget.allowed_origins)
    for name in hosts:
        origin = normalize_origin(f"http://{name}:{port}")
        if origin is not None and origin not in origins:
            origins.append(origin)
    widget = config.widget.model_copy(update={"allowed_origins": tuple(origins)})
    return config.model_copy(update={"widget": widget})


def can_open_browser() -> bool:
    """Only where a graphical browser can appear; on a bare server a text browser would
    take over the terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def fresh_database_file(data_dir: Path) -> Path:
    """The demo's SQLite file, emptied: the sandbox Slack is new on every start, so old
    leads would point at cards that no longer exist."""
    data_dir.mkdir(parents=True, exist_ok=True)
    database = (data_dir / "leadbot.db").resolve()
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    return database


async def capture_sample_leads(services: Services, config: LeadbotConfig) -> None:
    for intake in SAMPLE_LEADS:
        await services.leads.capture(intake, actor="demo")


async def run_demo(
    *, host: str, port: int, sandbox_port: int, data_dir: Path, open_browser: bool = True
) -> None:
    configure_logging("WARNING")
    database = fresh_database_file(data_dir)
    config = allowing_demo_origins(load_config(EXAMPLE_CONFIG_PATH), host, port)
    signing_secret = secrets.token_hex(16)
    sandbox = Sandbox(
        signing_secret=signing_secret,
        bot_token=DEMO_TOKEN,
        team_domain=config.workspace.name.lower(),
        scopes=BOT_SCOPES,
        echo_bot_messages=True,  # as in Slack: the bot hears its own posts (and ignores them)
    )
    seed_sandbox(sandbox, config)
    sandbox_url = await sandbox.start(host=host, port=sandbox_port)
    settings = Settings(
        slack_bot_token=DEMO_TOKEN,
        slack_signing_secret=signing_secret,
        slack_api_url=sandbox.api_url,
        database_url=f"sqlite+aiosqlite:///{database}",
        config_path=EXAMPLE_CONFIG_PATH,
    )
    services = build_services(settings, config)
    await upgrade(services.db)
    api_key = await create_api_key(
        services.db, SystemClock(), f"demo-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
    )
    runner = web.AppRunner(build_web_app(services, auto_upgrade=True))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bot_url = f"http://{host}:{port}"
    sandbox.request_url = f"{bot_url}/slack/events"
    await capture_sample_leads(services, config)
    page = page_url(sandbox_url, config)

    sample = json.dumps(
        {
            "name": "Jane Doe",
            "email": "jane@example.com",
            "company": "Initech",
            "source": "website",
            "answers": {"budget": "$50k+", "timeline": "this quarter"},
        }
    )
    print(
        f"""
leadbot demo is running (data in {data_dir}/, started afresh each time).

  Slack sandbox — open this page (you act as a rep; switch with "Acting as"):
    {page}
  Two sample leads are waiting in #{config.default_queue.id}, offered in turn: the one
  offered to you (see your DM) is yours to Claim at once; the other is open to anyone
  after its two-minute window. Then work it: Contacted, Qualified, Won, Lost, Nurture.

  Be a website visitor — open the sample site and chat with its widget (bottom right):
    {bot_url}/widget/demo
  Once you have answered its questions, the conversation shows up in the sandbox as a
  new card in #{config.default_queue.id}: claim it and reply in the card's thread to chat back.

  Bot health: {bot_url}/healthz

Send another lead (then click Claim on its card in the sandbox):

  curl -X POST {bot_url}/api/leads \\
    -H 'Authorization: Bearer {api_key}' \\
    -H 'Content-Type: application/json' \\
    -d '{sample}'

Press Ctrl-C to stop.
""",
        flush=True,
    )
    if open_browser and can_open_browser():
        webbrowser.open(page)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await sandbox.stop()
