"""Widget benchmarks (SPEC §13): chat turns per second, many open sessions, answer → card.

Everything runs on loopback: the real bot (aiohttp, SQLite by default) in this
process, the Slack sandbox in its own (Slack is not on the bot's core either),
and visitors in a third (`bench.widget_client`), so the load generator does not
share the server's core. The baseline is a bare
aiohttp WebSocket JSON echo measured in the same run with the same client.

    .venv/bin/python -m bench.widget_bench throughput [--sessions 300]
    .venv/bin/python -m bench.widget_bench concurrent [--sessions 5000 --pause 5]
    .venv/bin/python -m bench.widget_bench costs [--sessions 600]
    .venv/bin/python -m bench.widget_bench latency [--rates 5,10,20,30 --pause 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from bench.widget_client import phone_exchanges
from bench.widget_floor import record, replay_server, serve_websocket
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.demo import demo_workspace
from tests.harness import BOT_TOKEN, SIGNING_SECRET, card_lead_id, running_bot

ORIGIN = "http://bench.example"
ECHO_RUNS = 3
#: Each client run's visitors get phones of their own (a person returning merges).
EXCHANGES = phone_exchanges()
HEADER = """\
| server | sessions | turns | turns/s | p50 ms | p99 ms | server CPU ms/turn | errors |
|---|---|---|---|---|---|---|---|"""


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
    """Run the visitors in their own process; their results, plus `server_cpu`: the CPU
    seconds this process (the server under test) spent meanwhile, a figure that the
    other processes on the shared cores do not move as much as the rates."""
    cpu = time.process_time()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.widget_client",
        url,
        "--origin",
        ORIGIN,
        "--phone-exchange",
        str(next(EXCHANGES)),
        *options,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"client failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out)
    result["server_cpu"] = time.process_time() - cpu
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
            reply: dict[str, Any]
            if frame.get("type") == "hello":
                reply = {"type": "welcome", "token": "t", "history": [], "state": {"phase": "live"}}
            else:
                reply = {"type": "ack", "client_id": frame.get("client_id"), "seq": 1}
            await socket.send_str(json.dumps(reply))
        return socket

    async with serve_websocket(ws) as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def slack_process(seed: dict[str, Any]) -> AsyncIterator[str]:
    """The Slack sandbox in its own process, as Slack is not on the bot's core either."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(seed, file)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        str(port),
        "--signing-secret",
        SIGNING_SECRET,
        "--bot-token",
        BOT_TOKEN,
        "--no-rate-limits",
        "--seed",
        file.name,
        stdout=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"{base}/_sandbox/state") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
        yield base
    finally:
        process.terminate()
        await process.wait()
        os.unlink(file.name)


@asynccontextmanager
async def leadbot(database_url: str) -> AsyncIterator[tuple[str, str]]:
    """(widget WebSocket URL, sandbox base URL) of the real bot with a sandbox Slack."""
    config = bench_config()
    async with (
        slack_process(demo_workspace(config)) as slack,
        running_bot(database_url, f"{slack}/api/", config=config, auto_upgrade=True) as bot,
    ):
        yield bot.url.replace("http://", "ws://") + "/widget/ws", slack


VISITOR_EMAIL = re.compile(r"bench\.visitor[0-9]+\.[0-9a-f]+@example\.com")


async def card_arrivals(
    slack: str, finished_at: dict[str, float], *, give_up_after: float = 120.0
) -> dict[str, float]:
    """Each finished visitor's email → when its card's `chat.postMessage` reached Slack
    (`time.monotonic()`), waiting until every card has arrived (or `give_up_after`
    seconds): a capture still queued when the visitors stop is work the run has not
    done yet."""
    deadline = time.monotonic() + give_up_after
    arrived: dict[str, float] = {}
    since = 0  # the sandbox's call log only grows: each poll reads only the new calls
    async with aiohttp.ClientSession() as http:
        while True:
            params = {"method": "chat.postMessage", "since": str(since)}
            async with http.get(f"{slack}/_sandbox/calls", params=params) as resp:
                body = await resp.json()
            since = body["next"]
            for call in body["calls"]:
                if call["status"] != 200 or card_lead_id(call["args"].get("metadata")) is None:
                    continue
                # The visitors' emails (bench/widget_client.py: answer_for), looked up, not
                # scanned for: 5,000 cards × 5,000 emails was minutes of substring searches.
                for email in VISITOR_EMAIL.findall(json.dumps(call["args"].get("blocks"))):
                    if email in finished_at:
                        arrived.setdefault(email, call["at"])
                        break
            if len(arrived) >= len(finished_at) or time.monotonic() > deadline:
                return arrived
            await asyncio.sleep(0.25)


def card_summary(result: dict[str, Any], arrived: dict[str, float]) -> dict[str, float]:
    """Answer → card percentiles, and the rate of turns counted until the last card was
    posted (`sustained`): the captures and cards the turns caused are part of the run."""
    finished_at = result["finished_at"]
    stats = percentiles([at - finished_at[email] for email, at in arrived.items()])
    done = max([result["started_mono"] + result["elapsed"], *arrived.values()])
    sustained = result["turns"] / (done - result["started_mono"])
    missing = len(finished_at) - len(arrived)
    print(
        f"cards posted: {len(arrived)} of {len(finished_at)}"
        + (f" ({missing} not within the timeout)" if missing else "")
        + f"; the last {done - result['started_mono'] - result['elapsed']:.2f} s after "
        f"the last turn; turns/s until then: {sustained:,.0f}"
    )
    return {**stats, "sustained": sustained}


def report(name: str, result: dict[str, Any]) -> dict[str, Any]:
    stats = percentiles(result["turn_latencies"])
    rate = result["turns"] / result["elapsed"] if result["elapsed"] else 0.0
    cpu_ms = result["server_cpu"] / result["turns"] * 1e3 if result["turns"] else float("nan")
    print(
        f"| {name} | {result['sessions']} | {result['turns']} | {rate:,.0f} | "
        f"{stats['p50']:.1f} | {stats['p99']:.1f} | {cpu_ms:.2f} | {result['error_count']} |"
    )
    return {"rate": rate, **stats}


async def throughput(args: argparse.Namespace, database_url: str) -> None:
    options = ["--sessions", str(args.sessions), "--concurrency", str(args.concurrency)]
    print(HEADER)
    async with echo_server() as url:
        await run_client(url, "--sessions", "20", "--live-turns", "5")  # warm-up
        # A run lasts a fraction of a second, so one slow moment on the shared cores moves
        # it a lot (2,000-5,900 turns/s back to back): the best of ECHO_RUNS is the baseline,
        # which can only make the ratio smaller.
        runs = [
            await run_client(url, *options, "--live-turns", str(args.turns))
            for _ in range(ECHO_RUNS)
        ]
        echo = report(
            f"bare aiohttp WS JSON echo (best of {ECHO_RUNS})",
            max(runs, key=lambda r: r["turns"] / r["elapsed"]),
        )
    async with leadbot(database_url) as (url, slack):
        recording = await record(url, slack, ORIGIN)
        async with replay_server(recording, slack) as floor_url:
            replayed = await run_client(floor_url, *options)
            report("I/O floor: leadbot's frames and Slack posts replayed", replayed)
            floor = card_summary(replayed, await card_arrivals(slack, replayed["finished_at"]))
        result = await run_client(url, *options)
        bot = report("leadbot, qualifying turns", result)
        cards = card_summary(result, await card_arrivals(slack, result["finished_at"]))
    print(
        f"\nratio leadbot/echo: {cards['sustained'] / echo['rate']:.1%} (target ≥ 25 %), "
        "counting turns until the last card was posted; "
        f"{bot['rate'] / echo['rate']:.1%} counting until the last turn's answer"
    )
    print(
        f"ratio I/O floor/echo: {floor['sustained'] / echo['rate']:.1%} "
        "(no storage, no logic: the most any bot could reach with leadbot's traffic)"
    )
    print(
        f"last answer → card posted: p50 {cards['p50']:.1f} ms, p99 {cards['p99']:.1f} ms "
        "(target p99 < 250 ms)"
    )


async def costs(args: argparse.Namespace, database_url: str) -> None:
    """Server CPU per session by how far visitors get: where a session's time goes.

    The echo's sessions say hello and send 0, 1 or 7 messages; leadbot's visitors
    leave after 0, 1 or 2 answers (the second is the email: still no lead) or finish
    the script (a capture, its card and its offer DM). Each row's extra cost over the
    row before it is the cost of what that step adds."""
    sessions = str(args.sessions)
    common = ["--sessions", sessions, "--concurrency", str(args.concurrency)]
    print("| server | visitors | turns | server CPU ms/session |\n|---|---|---|---|")

    def row(name: str, result: dict[str, Any]) -> None:
        cpu_ms = result["server_cpu"] / result["sessions"] * 1e3
        print(f"| {name} | {result['sessions']} | {result['turns']} | {cpu_ms:.2f} |")

    async with echo_server() as url:
        await run_client(url, "--sessions", "20", "--live-turns", "5")  # warm-up
        for turns in (0, 1, 7):
            row(
                f"echo, hello + {turns} messages",
                await run_client(url, *common, "--live-turns", str(turns)),
            )
    async with leadbot(database_url) as (url, slack):
        await run_client(url, "--sessions", "20", "--answers", "1")  # warm-up
        for answers in ("0", "1", "2"):
            row(
                f"leadbot, hello + {answers} answers",
                await run_client(url, *common, "--answers", answers),
            )
        # Finishing visitors: their captures and cards run after the last answer, so the CPU
        # is counted until the last card is posted.
        cpu = time.process_time()
        result = await run_client(url, *common)
        await card_arrivals(slack, result["finished_at"])
        result["server_cpu"] = time.process_time() - cpu
        row("leadbot, the whole script (captured, carded, offered)", result)


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
    print(HEADER)
    async with leadbot(database_url) as (url, slack):
        result = await run_client(url, *options)
        stats = report(f"leadbot, {args.sessions} sessions open", result)
        cards = card_summary(result, await card_arrivals(slack, result["finished_at"]))
    print(f"\np99 turn latency {stats['p99']:.1f} ms with {args.sessions} open (target < 100 ms)")
    print(
        f"last answer → card posted, visitors pausing {args.pause:g} s between turns: "
        f"p50 {cards['p50']:.1f} ms, p99 {cards['p99']:.1f} ms (target p99 < 250 ms)"
    )


async def latency(args: argparse.Namespace, database_url: str) -> None:
    """Answer → card against a steady stream of visitors, at several arrival rates.

    `concurrent` opens every session at once, so its captures come in one burst
    (500 visitors finishing within ~10 s are ~50 captures a second at the peak); here
    visitors arrive at random at a set rate, each pausing `--pause` s between turns,
    so captures come at about that rate: the card latency a site with that traffic
    sees, and the rate at which it stops meeting its target."""
    print(
        "| new visitors/s (= captures/s) | visitors | turn p99 ms | card p50 ms | "
        "card p99 ms | server CPU ms/s |\n|---|---|---|---|---|---|"
    )
    async with leadbot(database_url) as (url, slack):
        await run_client(url, "--sessions", "20", "--concurrency", "20")  # warm-up
        for rate in args.rates:
            result = await run_client(
                url,
                "--sessions",
                str(args.sessions),
                "--concurrency",
                str(args.sessions),
                "--arrivals",
                str(rate),
                "--pause",
                str(args.pause),
            )
            arrived = await card_arrivals(slack, result["finished_at"])
            finished = result["finished_at"]
            cards = percentiles([at - finished[email] for email, at in arrived.items()])
            turns = percentiles(result["turn_latencies"])
            cpu = result["server_cpu"] / result["elapsed"] * 1e3
            print(
                f"| {rate:g} | {result['sessions']} | {turns['p99']:.1f} | {cards['p50']:.1f} | "
                f"{cards['p99']:.1f} | {cpu:.0f} |"
                + (
                    f" {len(finished) - len(arrived)} cards missing"
                    if len(arrived) < len(finished)
                    else ""
                )
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["throughput", "concurrent", "costs", "latency"])
    parser.add_argument("--sessions", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--turns", type=int, default=8, help="echo turns per session")
    parser.add_argument(
        "--pause", type=float, default=5.0, help="seconds between a visitor's turns"
    )
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[5.0, 10.0, 20.0, 30.0],
        help="latency: new visitors per second, comma-separated",
    )
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    args.sessions = args.sessions or {"throughput": 300, "costs": 600, "latency": 300}.get(
        args.which, 5000
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(f"database: {url.split(':')[0]}")
        run = {
            "throughput": throughput,
            "concurrent": concurrent,
            "costs": costs,
            "latency": latency,
        }[args.which]
        await run(args, url)


if __name__ == "__main__":
    asyncio.run(main())
