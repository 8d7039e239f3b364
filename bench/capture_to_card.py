"""Capture → Slack card latency (SPEC §13: p99 < 250 ms, emulator on loopback).

Measures, for each lead, the time from sending `POST /api/leads` to the Slack
sandbox recording the card's `chat.postMessage`: the bot's whole path (HTTP,
validation, one transaction, outbox wake-up, render, Web API call). The same
run measures a bare aiohttp JSON echo over the same loopback as a baseline, so
the ratio means something on a shared, noisy machine.

    .venv/bin/python -m bench.capture_to_card [--leads 500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.apikeys import create_api_key
from bot.app import build_services, build_web_app
from bot.clock import SystemClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.demo import seed_sandbox
from bot.settings import Settings
from sandbox import Sandbox
from store.migrate import upgrade

SECRET = "bench-secret"
TOKEN = "xoxb-bench"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50": q[49] * 1000,
        "p95": q[94] * 1000,
        "p99": q[98] * 1000,
        "max": ordered[-1] * 1000,
    }


async def echo_baseline(http: aiohttp.ClientSession, n: int) -> list[float]:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(await request.json())

    app = web.Application()
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/echo"
    samples = []
    try:
        for i in range(n):
            started = time.perf_counter()
            async with http.post(url, json={"email": f"echo{i}@example.com"}) as resp:
                await resp.read()
            samples.append(time.perf_counter() - started)
    finally:
        await runner.cleanup()
    return samples


async def capture_to_card(http: aiohttp.ClientSession, n: int, database_url: str) -> list[float]:
    config = load_config(EXAMPLE_CONFIG_PATH)
    slack = Sandbox(signing_secret=SECRET, bot_token=TOKEN, rate_limits=False)
    seed_sandbox(slack, config)
    await slack.start()
    settings = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        config_path=EXAMPLE_CONFIG_PATH,
    )
    services = build_services(settings, config)
    await upgrade(services.db)
    key = await create_api_key(services.db, SystemClock(), f"bench-{time.time_ns()}")
    runner = web.AppRunner(build_web_app(services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/leads"
    headers = {"Authorization": f"Bearer {key}"}
    samples = []
    try:
        for i in range(n):
            started = time.perf_counter()
            async with http.post(
                url,
                json={
                    "email": f"lead{i}@example.com",
                    "name": f"Lead {i}",
                    "answers": {"budget": "$50k+"},
                },
                headers=headers,
            ) as resp:
                assert resp.status == 201, await resp.text()
                lead_id = str((await resp.json())["id"])
            await slack.wait_for_call(
                "chat.postMessage",
                lambda c, lead_id=lead_id: (
                    (c.args.get("metadata") or {}).get("event_payload", {}).get("lead_id")
                    == lead_id
                ),
                timeout=10,
            )
            samples.append(time.perf_counter() - started)
    finally:
        await runner.cleanup()
        await slack.stop()
    return samples


def row(name: str, stats: dict[str, float]) -> str:
    return (
        f"| {name} | " + " | ".join(f"{stats[k]:.1f}" for k in ("p50", "p95", "p99", "max")) + " |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=500)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        async with aiohttp.ClientSession() as http:
            await echo_baseline(http, 50)  # warm-up
            baseline = percentiles(await echo_baseline(http, args.leads))
            measured = percentiles(await capture_to_card(http, args.leads, url))
    print(f"{args.leads} leads, database {url.split(':')[0]}")
    print("| path | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|")
    print(row("bare aiohttp JSON echo (baseline)", baseline))
    print(row("capture → card posted", measured))
    print(
        f"p99 ratio capture/echo: {measured['p99'] / baseline['p99']:.1f}x; "
        f"target p99 < 250 ms: {'met' if measured['p99'] < 250 else 'NOT met'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
