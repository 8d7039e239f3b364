"""Load generator for the widget WebSocket: visitors who answer whatever they are asked.

Runs in its own process (so the server under test keeps its core) and prints one
JSON line of results. A *turn* is one visitor message and the server's answer to
it: the bot's next line while qualifying, or the `ack` once the chat is live.
Answers follow the server's input hint, so any configured script is driven to
its end: a valid email, phone or number, or the first offered choice.

    python -m bench.widget_client URL --origin ORIGIN --sessions 200 --concurrency 200
    python -m bench.widget_client URL --origin ORIGIN --sessions 300 --arrivals 10 --pause 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import phonenumbers


def phone_exchanges() -> Iterator[int]:
    """San Francisco exchanges whose numbers are valid, each once. Each client run takes
    its own (`--phone-exchange`), so that one run's visitor 7 and another's are not the same
    person to the bot's dedup (one lead, one card): a random pick collided now and then,
    and that run's cards all went missing into the earlier run's leads."""
    for exchange in range(200, 1000):
        number = phonenumbers.parse(f"+1 415 {exchange} 0000")
        if phonenumbers.is_valid_number(number):
            yield exchange


@dataclass
class Results:
    turn_latencies: list[float] = field(default_factory=list)
    #: Seconds from sending the answer that finished qualification to the `state`
    #: frame saying the chat is live (the lead is captured by then).
    finish_latencies: list[float] = field(default_factory=list)
    #: email -> `time.monotonic()` when the finishing answer was sent, to match the card's
    #: arrival in the sandbox (Linux's monotonic clock is shared by all processes).
    finished_at: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sessions_done: int = 0


def answer_for(
    hint: dict[str, Any] | None, choices: list[str], visitor: int, exchange: int
) -> tuple[str, str]:
    """(kind, text): a valid answer to what the server expects next."""
    kind = (hint or {}).get("kind", "text")
    offered = list((hint or {}).get("choices") or choices)
    if kind == "choice" and offered:
        return kind, offered[0]
    if kind == "email":
        return kind, f"bench.visitor{visitor}.{uuid.uuid4().hex[:8]}@example.com"
    if kind == "phone":  # unique in the run; an earlier run's visitor is another person
        return kind, f"+1 415 {exchange} {visitor % 10000:04d}"
    if kind == "number":
        return kind, "250"  # a lead sales-ready enough for a card under the example scoring
    return kind, f"Bench Visitor {visitor}"


async def next_frame(ws: aiohttp.ClientWebSocketResponse, within: float) -> dict[str, Any]:
    message = await ws.receive(timeout=within)
    if message.type != aiohttp.WSMsgType.TEXT:
        raise ConnectionError(f"socket closed: {message.type.name} {message.data!r}")
    frame = json.loads(message.data)
    if not isinstance(frame, dict):
        raise ValueError(f"not a frame: {frame!r}")
    return frame


class Visitor:
    """One visitor's socket and what the server last told it to expect."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, number: int, results: Results) -> None:
        self.ws = ws
        self.number = number
        self.results = results
        self.phase = "qualifying"
        self.hint: dict[str, Any] | None = None
        self.choices: list[str] = []
        self.email = ""
        self.answered: list[str] = []
        self.answer_sent = (0.0, 0.0)  # (perf_counter, monotonic) of the last qualifying answer

    def take(self, frame: dict[str, Any]) -> None:
        """Fold a server frame into what the visitor knows."""
        kind = frame.get("type")
        if kind == "state":
            if frame.get("phase") == "live" and self.phase != "live" and self.email:
                self.results.finish_latencies.append(time.perf_counter() - self.answer_sent[0])
                self.results.finished_at[self.email] = self.answer_sent[1]
            self.phase = str(frame.get("phase"))
            self.hint = frame.get("input")
        elif kind == "message" and frame.get("author") == "bot":
            self.choices = list(frame.get("choices") or [])
        elif kind == "error":
            raise RuntimeError(f"{frame.get('code')}: {frame.get('message')}")

    async def turn(self, text: str, qualifying: bool) -> None:
        """Send one message and wait for its answer: a bot line, or the ack once live."""
        client_id = uuid.uuid4().hex
        started = time.perf_counter()
        if qualifying:
            self.answer_sent = (started, time.monotonic())
        await self.ws.send_json({"type": "message", "text": text, "client_id": client_id})
        while True:
            frame = await next_frame(self.ws, 60)
            self.take(frame)
            kind = frame.get("type")
            if qualifying and kind == "state":  # closes a qualifying turn (protocol doc)
                break
            if not qualifying and kind == "ack" and frame.get("client_id") == client_id:
                break
        self.results.turn_latencies.append(time.perf_counter() - started)


async def visitor(
    http: aiohttp.ClientSession,
    url: str,
    origin: str,
    number: int,
    results: Results,
    *,
    live_turns: int,
    answers: int | None = None,
    opened: asyncio.Event | None,
    go: asyncio.Event | None,
    pause: float,
    exchange: int,
) -> None:
    """One visitor: hello, answer until live, then `live_turns` chat messages."""
    async with http.ws_connect(url, headers={"Origin": origin}, max_msg_size=0) as ws:
        page = {"url": f"{origin}/pricing", "referrer": "", "title": "Pricing"}
        await ws.send_json({"type": "hello", "page": page, "utm": {"source": "bench"}})
        welcome = await next_frame(ws, 60)
        if welcome.get("type") != "welcome":
            raise ValueError(f"expected welcome, got {welcome}")
        me = Visitor(ws, number, results)
        me.take({"type": "state", **(welcome.get("state") or {})})
        for item in welcome.get("history") or []:
            me.choices = list(item.get("choices") or [])
        if opened is not None:
            opened.set()
        if go is not None:
            await go.wait()
            if pause:  # visitors start typing at different moments, as people do
                await asyncio.sleep(random.uniform(0, pause))
        live_sent = 0
        while me.phase != "closed":
            if me.phase == "live":
                if live_sent >= live_turns:
                    break
                await me.turn(f"live message {live_sent}", qualifying=False)
                live_sent += 1
            elif answers is not None and len(me.answered) >= answers:
                break  # leaves mid-script, as most visitors do
            else:
                kind, text = answer_for(me.hint, me.choices, number, exchange)
                me.answered.append(kind)
                if kind == "email":
                    me.email = text
                await me.turn(text, qualifying=True)
            if pause:
                await asyncio.sleep(pause * random.uniform(0.5, 1.5))
    results.sessions_done += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results = Results()
    limit = asyncio.Semaphore(args.concurrency)
    connector = aiohttp.TCPConnector(limit=0)
    go = asyncio.Event() if args.hold_open else None
    opened_events: list[asyncio.Event] = []

    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(i: int) -> None:
            opened = asyncio.Event() if go is not None else None
            if opened is not None:
                opened_events.append(opened)
            async with limit:
                try:
                    await visitor(
                        http,
                        args.url,
                        args.origin,
                        i,
                        results,
                        live_turns=args.live_turns,
                        answers=args.answers,
                        opened=opened,
                        go=go,
                        exchange=args.phone_exchange,
                        pause=args.pause,
                    )
                except Exception as exc:
                    results.errors.append(f"{type(exc).__name__}: {exc}")
                    if opened is not None:
                        opened.set()

        started, started_mono = time.perf_counter(), time.monotonic()
        tasks = []
        for i in range(args.sessions):
            tasks.append(asyncio.create_task(one(i)))
            if args.arrivals:  # a Poisson stream of new visitors, as a site gets them
                await asyncio.sleep(random.expovariate(args.arrivals))
        if go is not None:
            await asyncio.sleep(0)  # let every task register its event
            await asyncio.gather(*(e.wait() for e in opened_events))
            # All sessions are open: measure from here.
            started, started_mono = time.perf_counter(), time.monotonic()
            go.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {
        "elapsed": elapsed,
        "started_mono": started_mono,
        "sessions": args.sessions,
        "sessions_done": results.sessions_done,
        "turns": len(results.turn_latencies),
        "turn_latencies": results.turn_latencies,
        "finish_latencies": results.finish_latencies,
        "finished_at": results.finished_at,
        "errors": results.errors[:20],
        "error_count": len(results.errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--origin", required=True)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--live-turns", type=int, default=0)
    parser.add_argument(
        "--answers", type=int, default=None, help="leave after this many qualifying answers"
    )
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between a visitor's turns"
    )
    parser.add_argument(
        "--hold-open", action="store_true", help="open every session before any turn starts"
    )
    parser.add_argument(
        "--phone-exchange",
        type=int,
        default=None,
        help="the visitors' phone exchange, one of phone_exchanges() (default: a random one)",
    )
    parser.add_argument(
        "--arrivals",
        type=float,
        default=0.0,
        help="new visitors per second, at random (Poisson) moments; 0: all at once",
    )
    args = parser.parse_args()
    if args.phone_exchange is None:
        args.phone_exchange = random.choice(list(phone_exchanges()))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    json.dump(asyncio.run(run(args)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
