"""The I/O floor for the widget benchmark: leadbot's own wire traffic, replayed.

The echo baseline sends one small frame per turn and calls nobody. A qualifying
turn in leadbot sends three frames (`ack`, the bot's line, `state`), and every
conversation that qualifies ends in two Slack calls (the card and the rep's
offer DM). This server does exactly that network work and nothing else: it
replays, byte for byte, the frames and Slack payloads leadbot produced for one
recorded visitor — nothing stored, no script run, no routing — through the same
Slack client leadbot uses (`handlers.slack_sender.SlackWebSender`). Its rate is
what any bot speaking leadbot's protocol to leadbot's Slack could reach on this
machine if its own work cost nothing, so it bounds the ratio from above.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from bench.widget_client import answer_for, next_frame, phone_exchanges
from bot.outbox import RenderedMessage, card_metadata
from handlers.slack_sender import SlackWebSender, build_web_client, kept_alive
from tests.harness import BOT_TOKEN, card_lead_id

RECORDED_EXCHANGE = next(phone_exchanges())


@dataclass(frozen=True)
class Recording:
    """What leadbot sent for one visitor: its welcome, each turn's frames, its Slack posts."""

    welcome: dict[str, Any]
    turns: list[list[dict[str, Any]]]
    email: str
    #: (channel, text, blocks) of the card, then of the offer DM.
    posts: list[tuple[str, str, list[dict[str, Any]]]]


async def record(ws_url: str, slack: str, origin: str) -> Recording:
    """Drive one visitor through leadbot's script and keep what came back."""
    turns: list[list[dict[str, Any]]] = []
    email = ""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url, headers={"Origin": origin}) as ws,
    ):
        page = {"url": f"{origin}/pricing", "referrer": "", "title": "Pricing"}
        await ws.send_json({"type": "hello", "page": page, "utm": {"source": "bench"}})
        welcome = await next_frame(ws, 30)
        state = welcome["state"]
        choices = [c for item in welcome.get("history") or [] for c in item.get("choices") or []]
        while state.get("phase") == "qualifying":
            # Visitor 9999 of the first exchange: no client run has that many visitors.
            kind, text = answer_for(state.get("input"), choices, 999_999, RECORDED_EXCHANGE)
            email = text if kind == "email" else email
            client_id = f"recorded-{len(turns)}"  # a repeated id would be a duplicate
            await ws.send_json({"type": "message", "text": text, "client_id": client_id})
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1].get("type") != "state":
                frames.append(await next_frame(ws, 30))
            turns.append(frames)
            state = frames[-1]
            choices = [c for f in frames for c in f.get("choices") or []]
    return Recording(welcome, turns, email, await _posts_for(slack, email))


async def _posts_for(slack: str, email: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """The card that names `email` and the DM posted after it (waiting for both)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            params = {"method": "chat.postMessage"}
            async with http.get(f"{slack}/_sandbox/calls", params=params) as resp:
                calls = [c["args"] for c in (await resp.json())["calls"] if c["status"] == 200]
            cards = [
                i
                for i, args in enumerate(calls)
                if card_lead_id(args.get("metadata")) is not None
                and email in json.dumps(args.get("blocks"))
            ]
            later = calls[cards[0] + 1 :] if cards else []
            dms = [a for a in later if not a["channel"].startswith("C")]
            if dms:
                return [
                    (a["channel"], a.get("text", ""), _blocks(a.get("blocks")))
                    for a in (calls[cards[0]], dms[0])
                ]
            await asyncio.sleep(0.05)
    raise RuntimeError("the recorded visitor's card and offer DM never reached the sandbox")


def _blocks(raw: Any) -> list[dict[str, Any]]:
    blocks = json.loads(raw) if isinstance(raw, str) else raw
    return list(blocks or [])


@asynccontextmanager
async def replay_server(recording: Recording, slack: str) -> AsyncIterator[str]:
    """A WebSocket server that answers every visitor with `recording`; its URL."""
    client = build_web_client(BOT_TOKEN, f"{slack}/api/")
    sender = SlackWebSender(client)
    lead_ids = itertools.count(10_000_000)
    pending: set[asyncio.Task[None]] = set()
    welcome = json.dumps(recording.welcome)
    acks = [frames[0] for frames in recording.turns]
    turns = [[json.dumps(f) for f in frames] for frames in recording.turns]

    async def post_card_and_offer(email: str) -> None:
        lead_id = next(lead_ids)
        for (channel, text, blocks), metadata in zip(
            recording.posts, (card_metadata(lead_id), None), strict=True
        ):
            blocks_text = json.dumps(blocks).replace(recording.email, email)
            message = RenderedMessage(text, json.loads(blocks_text))
            await sender.post_message(channel, message, metadata)

    async def ws(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        turn = 0
        email = ""
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame.get("type") == "hello":
                await socket.send_str(welcome)
                continue
            text = str(frame.get("text", ""))
            email = text if "@" in text else email
            frames = turns[min(turn, len(turns) - 1)]
            ack = acks[min(turn, len(acks) - 1)]
            await socket.send_str(json.dumps({**ack, "client_id": frame.get("client_id")}))
            for encoded in frames[1:]:
                await socket.send_str(encoded)
            turn += 1
            if turn == len(turns):  # the finishing answer: the card and the offer go out
                task = asyncio.create_task(post_card_and_offer(email))
                pending.add(task)
                task.add_done_callback(pending.discard)
        return socket

    async with kept_alive(client), serve_websocket(ws) as url:  # pooled, as in leadbot
        yield url
        if pending:  # the last visitors' posts
            await asyncio.wait(pending, timeout=30)


@asynccontextmanager
async def serve_websocket(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """`handler` served at `/ws` on a free loopback port; its `ws://` URL."""
    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"ws://127.0.0.1:{runner.addresses[0][1]}/ws"
    finally:
        await runner.cleanup()
