"""Widget benchmarks (SPEC §13): chat turns per second, many open sessions, answer → card.

Everything runs on loopback: the real bot (aiohttp, SQLite by default) with the
Slack sandbox as Slack, and visitors in a separate process (`bench.widget_client`)
so the load generator does not share the server's core. The baseline is a bare
aiohttp WebSocket JSON echo measured in the same run with the same client.

    .venv/bin/python -m bench.widget_bench throughput [--sessions 300]
    .venv/bin/python -m bench.widget_bench concurrent [--sessions 5000 --pause 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.demo import seed_sandbox
from sandbox import Sandbox
from tests.harness import BOT_TOKEN, SIGNING_SECRET, card_lead_id, running_bot

ORIGIN = "http://bench.example"


def bench_config() -> LeadbotConfig:
    """The example config, with the bench's origin allowed and abuse limits out of the way."""
    config = load_config(EXAMPLE_CONFIG_PATH)
    widget = config.widget.model_copy(
        update={
            "allowed_origins": (ORIGIN,),
            "new_sessions_per_ip_per_minute": 1_000_000,
            "messages_per_session_per_minute": 1_000_000,
        }
    )
    return config.model_copy(update={"widget": widget})


def percentiles(samples: list[float]) -> dict[str, float]:
    if len(samples) < 2:
        return {k: float("nan") for k in ("p50", "p95", "p99", "max")}
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": q[49] * 1e3, "p95": q[94] * 1e3, "p99": q[98] * 1e3, "max": ordered[-1] * 1e3}


async def run_client(url: str, *options: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.widget_client",
        url,
        "--origin",
        ORIGIN,
        *options,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"client failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


@asynccontextmanager
async def echo_server() -> AsyncIterator[str]:
    """A bare WebSocket JSON echo that speaks just enough protocol for the client."""

    async def ws(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame.get("type") == "hello":
                reply = {"type": "welcome", "token": "t", "history": [], "state": {"phase": "live"}}
            else:
                reply = {"type": "ack", "client_id": frame.get("client_id"), "seq": 1}
            await socket.send_str(json.dumps(reply))
        return socket

    app = web.Application()
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"ws://127.0.0.1:{runner.addresses[0][1]}/ws"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def leadbot(database_url: str) -> AsyncIterator[tuple[str, Sandbox]]:
    slack = Sandbox(
        signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, rate_limits=False, clock=time.time
    )
    seed_sandbox(slack, load_config(EXAMPLE_CONFIG_PATH))
    await slack.start()
    try:
        async with running_bot(
            database_url, slack.api_url, config=bench_config(), auto_upgrade=True
        ) as bot:
            slack.request_url = f"{bot.url}/slack/events"
            yield bot.url.replace("http://", "ws://") + "/widget/ws", slack
    finally:
        await slack.stop()


def card_latencies(slack: Sandbox, finished_at_wall: dict[str, float]) -> list[float]:
    """Seconds from each finishing answer to its card's `chat.postMessage` reaching Slack."""
    found = []
    for call in slack.calls:
        if call.method != "chat.postMessage" or not call.ok:
            continue
        if card_lead_id(call.args.get("metadata")) is None:
            continue
        text = json.dumps(call.args.get("blocks"))
        for email, sent in finished_at_wall.items():
            if email in text:
                found.append(call.at - sent)
                break
    return found


def report(name: str, result: dict[str, Any]) -> dict[str, Any]:
    stats = percentiles(result["turn_latencies"])
    rate = result["turns"] / result["elapsed"] if result["elapsed"] else 0.0
    print(
        f"| {name} | {result['sessions']} | {result['turns']} | {rate:,.0f} | "
        f"{stats['p50']:.1f} | {stats['p99']:.1f} | {result['error_count']} |"
    )
    return {"rate": rate, **stats}


async def throughput(args: argparse.Namespace, database_url: str) -> None:
    options = ["--sessions", str(args.sessions), "--concurrency", str(args.concurrency)]
    print("| server | sessions | turns | turns/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    async with echo_server() as url:
        await run_client(url, "--sessions", "20", "--live-turns", "5")  # warm-up
        echo = report(
            "bare aiohttp WS JSON echo",
            await run_client(url, *options, "--live-turns", str(args.turns)),
        )
    async with leadbot(database_url) as (url, slack):
        result = await run_client(url, *options)
        bot = report("leadbot, qualifying turns", result)
        cards = percentiles(card_latencies(slack, result["finished_at_wall"]))
    print(f"\nratio leadbot/echo: {bot['rate'] / echo['rate']:.1%} (target ≥ 25 %)")
    print(
        f"last answer → card posted: p50 {cards['p50']:.1f} ms, p99 {cards['p99']:.1f} ms "
        "(target p99 < 250 ms)"
    )


async def concurrent(args: argparse.Namespace, database_url: str) -> None:
    options = [
        "--sessions",
        str(args.sessions),
        "--concurrency",
        str(args.sessions),
        "--hold-open",
        "--pause",
        str(args.pause),
    ]
    print("| server | sessions | turns | turns/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    async with leadbot(database_url) as (url, _slack):
        result = await run_client(url, *options)
        stats = report(f"leadbot, {args.sessions} sessions open", result)
    print(f"\np99 turn latency {stats['p99']:.1f} ms with {args.sessions} open (target < 100 ms)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["throughput", "concurrent"])
    parser.add_argument("--sessions", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--turns", type=int, default=8, help="echo turns per session")
    parser.add_argument(
        "--pause", type=float, default=5.0, help="seconds between a visitor's turns"
    )
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    args.sessions = args.sessions or (300 if args.which == "throughput" else 5000)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(f"database: {url.split(':')[0]}")
        await (throughput if args.which == "throughput" else concurrent)(args, url)


if __name__ == "__main__":
    asyncio.run(main())
