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

from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.demo import seed_sandbox
from sandbox import Sandbox
from tests.harness import BOT_TOKEN, SIGNING_SECRET, running_bot, wait_for_card


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
    slack = Sandbox(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, rate_limits=False)
    seed_sandbox(slack, load_config(EXAMPLE_CONFIG_PATH))
    await slack.start()
    samples = []
    try:
        async with running_bot(database_url, slack.api_url, auto_upgrade=True) as bot:
            headers = {"Authorization": f"Bearer {bot.api_key}"}
            for i in range(n):
                lead = {
                    "email": f"lead{i}@example.com",
                    "name": f"Lead {i}",
                    "answers": {"budget": "$50k+"},
                }
                started = time.perf_counter()
                async with http.post(f"{bot.url}/api/leads", json=lead, headers=headers) as resp:
                    assert resp.status == 201, await resp.text()
                    lead_id = (await resp.json())["id"]
                await wait_for_card(slack, lead_id, within=10)
                samples.append(time.perf_counter() - started)
    finally:
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
