"""`leadbot demo`: the bot and a local Slack sandbox on 127.0.0.1, seeded from the example."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.apikeys import create_api_key
from bot.app import build_services, build_web_app
from bot.clock import SystemClock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.logs import configure_logging
from bot.settings import Settings
from sandbox import Sandbox
from store.migrate import upgrade

DEMO_TOKEN = "xoxb-leadbot-demo"


def seed_sandbox(sandbox: Sandbox, config: LeadbotConfig) -> None:
    """The demo workspace: every rep and manager, and one channel per queue."""
    for rep in config.reps:
        sandbox.add_user(
            rep.id,
            name=rep.name.split()[0].lower(),
            real_name=rep.name,
            tz=rep.timezone or config.workspace.timezone,
        )
    for manager in config.managers:
        if manager not in {r.id for r in config.reps}:
            sandbox.add_user(
                manager,
                name=manager.lower(),
                real_name=f"Manager {manager}",
                tz=config.workspace.timezone,
                is_admin=True,
            )
    for queue in config.queues:
        sandbox.add_channel(
            queue.channel,
            name=queue.id,
            members=list(queue.reps) + list(config.managers),
            bot_is_member=True,
            is_private=False,
        )


async def run_demo(*, host: str, port: int, sandbox_port: int, data_dir: Path) -> None:
    configure_logging("WARNING")
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before serving
    config = load_config(EXAMPLE_CONFIG_PATH)
    signing_secret = secrets.token_hex(16)
    sandbox = Sandbox(
        signing_secret=signing_secret,
        bot_token=DEMO_TOKEN,
        team_domain=config.workspace.name.lower(),
    )
    seed_sandbox(sandbox, config)
    sandbox_url = await sandbox.start(host=host, port=sandbox_port)
    settings = Settings(
        slack_bot_token=DEMO_TOKEN,
        slack_signing_secret=signing_secret,
        slack_api_url=sandbox.api_url,
        database_url=f"sqlite+aiosqlite:///{(data_dir / 'leadbot.db').resolve()}",
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
leadbot demo is running (data in {data_dir}/).

  Slack sandbox — open this, pick a rep, watch #sales:  {sandbox_url}/
  Bot health:                                            {bot_url}/healthz

Send a lead (then click Claim on its card in the sandbox):

  curl -X POST {bot_url}/api/leads \\
    -H 'Authorization: Bearer {api_key}' \\
    -H 'Content-Type: application/json' \\
    -d '{sample}'

Press Ctrl-C to stop.
""",
        flush=True,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await sandbox.stop()
