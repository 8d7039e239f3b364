"""The widget WebSocket protocol (docs/widget-protocol.md) against the real bot: sessions,
resume, idempotent resends, and every error — with the stored conversation unharmed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import EXAMPLE_CONFIG_PATH, load_config
from store.models import ChatMessage, ChatSession, PageView
from tests.harness import RunningBot, running_bot
from tests.widget_ws_client import ORIGIN, widget


@pytest.fixture
async def limited(database_url: str) -> AsyncIterator[RunningBot]:
    """The bot with small widget limits, so floods are a few frames."""
    config = load_config(EXAMPLE_CONFIG_PATH)
    small = config.widget.model_copy(
        update={"new_sessions_per_ip_per_minute": 3, "messages_per_session_per_minute": 4}
    )
    async with running_bot(database_url, config=config.model_copy(update={"widget": small})) as b:
        yield b


async def conversation(bot: RunningBot, session_id: str) -> list[tuple[Any, ...]]:
    async with bot.services.db.reading() as session:
        rows = await session.execute(
            select(ChatMessage.seq, ChatMessage.author, ChatMessage.text, ChatMessage.client_id)
            .where(ChatMessage.session_id == session_id)
            .order_by(ChatMessage.seq)
        )
        return [tuple(r) for r in rows.all()]


async def test_hello_resume_and_idempotent_resend(limited: RunningBot) -> None:
    async with widget(limited.url) as first:
        welcome = await first.hello()
        assert welcome["resumed"] is False and len(welcome["token"]) >= 43
        assert [m["author"] for m in welcome["history"]] == ["bot", "bot"]
        assert welcome["state"] == {
            "phase": "qualifying",
            "input": {"kind": "text", "placeholder": "Type your answer"},
        }
        ack = await first.say("Jane Doe", client_id="c-1")
        assert ack == {"type": "ack", "client_id": "c-1", "seq": 3}
        await first.next("state")
    async with widget(limited.url) as again:
        resumed = await again.hello(welcome["token"])
        assert resumed["resumed"] is True and resumed["session_id"] == welcome["session_id"]
        assert resumed["state"]["input"]["kind"] == "email"
        # The reconnect resends the message it never saw acknowledged: acked again, stored once.
        assert await again.say("Jane Doe", client_id="c-1") == ack
        await again.send({"type": "ping"})
        assert (await again.next("pong", "state"))["type"] == "pong"
    rows = await conversation(limited, welcome["session_id"])
    assert [r[3] for r in rows].count("c-1") == 1 and len(rows) == 4
    async with limited.services.db.reading() as session:
        stored = await session.get(ChatSession, welcome["session_id"])
        views = await session.scalar(select(func.count()).select_from(PageView))
    assert stored is not None and stored.token_hash != welcome["token"]  # only the hash is kept
    assert stored.first_touch["utm"]["source"] == "newsletter" and views == 2


async def test_unknown_token_starts_a_new_conversation(limited: RunningBot) -> None:
    async with widget(limited.url) as w:
        welcome = await w.hello("not-a-token-we-issued")
    assert welcome["resumed"] is False and welcome["token"] != "not-a-token-we-issued"


async def test_bad_frames_get_error_codes_and_change_nothing(limited: RunningBot) -> None:
    async with widget(limited.url) as w:
        await w.send({"type": "message", "text": "hi", "client_id": "early"})
        assert (await w.next("error"))["code"] == "not_ready"
        welcome = await w.hello()
        await w.say("Jane Doe", client_id="ok-1")
        await w.next("state")
        before = await conversation(limited, welcome["session_id"])

        cases: list[tuple[str | bytes, str]] = [
            ("{not json", "bad_json"),
            ("[1, 2]", "bad_json"),
            (json.dumps({"type": "shout"}), "bad_frame"),
            (json.dumps({"no": "type"}), "bad_frame"),
            (json.dumps({"type": "message", "text": "x"}), "bad_frame"),
            (json.dumps({"type": "message", "text": 5, "client_id": "n"}), "bad_frame"),
            (json.dumps({"type": "message", "text": "   ", "client_id": "e"}), "too_long"),
            (json.dumps({"type": "message", "text": "x" * 2001, "client_id": "l"}), "too_long"),
            (json.dumps({"type": "page_view", "page": {"url": 7}}), "bad_frame"),
            (json.dumps({"type": "read", "up_to": "3"}), "bad_frame"),
            (json.dumps({"type": "hello"}), "not_ready"),
            (b"\x00\x01", "bad_frame"),
        ]
        for raw, code in cases:
            if isinstance(raw, bytes):
                await w.ws.send_bytes(raw)
            else:
                await w.ws.send_str(raw)
            error = await w.next("error")
            assert error["code"] == code, raw
            assert "Traceback" not in error["message"]
        too_long = [f for f in w.received if f.get("code") == "too_long"]
        assert {f["client_id"] for f in too_long} == {"e", "l"}

        # Oversized frame: closed with 1009 (message too big), nothing stored.
        await w.ws.send_str(json.dumps({"type": "message", "text": "y" * 9000, "client_id": "b"}))
        msg = await w.ws.receive(timeout=5)
        while msg.type == aiohttp.WSMsgType.TEXT:
            msg = await w.ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert w.ws.close_code == 1009
    assert await conversation(limited, welcome["session_id"]) == before


async def test_failures_inside_become_unavailable_not_a_traceback(
    limited: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("database on fire")

    async with widget(limited.url) as w:
        await w.hello()
        monkeypatch.setattr(limited.services.chat, "say", broken)
        error = await w.say("hello?", client_id="u-1")
        assert error == {
            "type": "error",
            "code": "unavailable",
            "message": "Could not handle that just now; retry.",
            "client_id": "u-1",
        }
        await w.send({"type": "ping"})  # still open
        assert (await w.next("pong"))["type"] == "pong"


@pytest.mark.parametrize("origin", ["https://evil.example", None])
async def test_disallowed_origin_is_refused_before_the_upgrade(
    limited: RunningBot, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{limited.url}/widget/ws", headers=headers)
    assert refused.value.status == 403
    async with limited.services.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(ChatSession)) == 0


async def test_message_flood_is_rate_limited_and_not_stored(limited: RunningBot) -> None:
    async with widget(limited.url) as w:
        welcome = await w.hello()
        answers = ["Jane Doe", "jane@example.com", "Initech", "25"]
        for n, text in enumerate(answers):
            assert (await w.say(text, client_id=f"m{n}"))["type"] == "ack"
        flood = await w.say("one too many", client_id="m-flood")
        assert flood["code"] == "rate_limited" and flood["client_id"] == "m-flood"
    rows = await conversation(limited, welcome["session_id"])
    assert [r[3] for r in rows if r[1] == "visitor"] == ["m0", "m1", "m2", "m3"]


async def test_new_session_flood_from_one_address_is_closed_with_4429(
    limited: RunningBot,
) -> None:
    tokens = []
    for _ in range(3):
        async with widget(limited.url) as w:
            tokens.append((await w.hello())["token"])
    async with widget(limited.url) as w:
        await w.send({"type": "hello", "page": {"url": f"{ORIGIN}/"}})
        error = await w.next("error")
        assert error["code"] == "rate_limited"
        msg = await w.ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert w.ws.close_code == 4429
    # Resuming a known conversation is not a new session: still allowed.
    async with widget(limited.url) as w:
        assert (await w.hello(tokens[0]))["resumed"] is True
    async with limited.services.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(ChatSession)) == 3


async def test_shutdown_closes_open_widgets_with_going_away_at_once(database_url: str) -> None:
    """A stopping server closes visitors' sockets (1001, the widget reconnects and resumes)
    instead of waiting out aiohttp's shutdown timeout for them to leave."""
    bot_context = running_bot(database_url)
    bot = await bot_context.__aenter__()
    async with widget(bot.url) as w:
        await w.hello()
        stopping = asyncio.create_task(bot_context.__aexit__(None, None, None))
        msg = await w.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and w.ws.close_code == 1001
        await asyncio.wait_for(stopping, 5)


async def stored_session(bot: RunningBot, session_id: str) -> tuple[Any, ...]:
    """What an ended conversation must keep as it was: its row's visit fields, its page
    views and its lines."""
    async with bot.services.db.reading() as session:
        row = await session.get(ChatSession, session_id)
        assert row is not None
        views = await session.execute(
            select(PageView.url, PageView.referrer, PageView.title)
            .where(PageView.session_id == session_id)
            .order_by(PageView.id)
        )
        visit = (row.last_seen_at, row.last_touch, row.visitor_read_seq, row.closed_at)
        return visit, [tuple(v) for v in views.all()], await conversation(bot, session_id)


async def test_an_ended_conversation_takes_nothing_more_and_a_return_starts_afresh(
    limited: RunningBot,
) -> None:
    """A conversation closed by an erasure (`/leads forget`) stores nothing more: the
    visitor's next line and page view get `closed`, a resend of an earlier line too, a
    read marker is ignored; the visitor coming back with its token gets a new
    conversation (not a dead one that can never chat again)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    async with widget(limited.url) as w:
        welcome = await w.hello()
        assert (await w.say("Jane Doe", client_id="m0"))["type"] == "ack"
        await w.next("state")
        async with limited.services.db.transaction() as session:
            await session.execute(
                update(ChatSession)
                .where(ChatSession.id == welcome["session_id"])
                .values(closed_at=datetime.now(UTC))
            )
        before = await stored_session(limited, welcome["session_id"])
        refused = await w.say("jane@example.com", client_id="m1")
        assert refused["type"] == "error" and refused["code"] == "closed"
        assert refused["client_id"] == "m1"
        assert (await w.say("Jane Doe", client_id="m0"))["code"] == "closed"
        page = {"url": "https://example.com/pricing?email=jane@example.com", "title": "P"}
        await w.send({"type": "page_view", "page": page, "utm": {"source": "mail"}})
        assert (await w.next("error"))["code"] == "closed"
        await w.send({"type": "read", "up_to": 3})
        await w.send({"type": "ping"})
        await w.next("pong")  # frames are handled in order: the read is done
    async with widget(limited.url) as again:
        fresh = await again.hello(welcome["token"])
        assert fresh["resumed"] is False and fresh["session_id"] != welcome["session_id"]
        assert fresh["token"] != welcome["token"]
        assert fresh["state"]["phase"] == "qualifying"
        assert (await again.say("Jane again"))["type"] == "ack"
    assert await stored_session(limited, welcome["session_id"]) == before
