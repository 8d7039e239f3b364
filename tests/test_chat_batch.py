"""Group commit of visitor turns (bot/chat_batch.py): many concurrent `Chat.say` calls give
the same results as one turn at a time, and a bad turn fails only its own caller.
Use-case level on the test database (SQLite, or PostgreSQL with LEADBOT_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from bot.app import directory_rows
from bot.chat import RELAY_VISITOR_MESSAGE, Chat, ChatSetup, UnknownSession
from bot.chat_batch import TurnsClosed
from bot.chat_values import LIVE, ChatLine, Said, Visit
from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.leads import Leads
from store.db import Database
from store.directory import sync_directory
from store.models import Base, ChatMessage, ChatSession, Lead, OutboxMessage
from tests.factories import make_leads

VISIT = Visit(url="https://www.acme.example/pricing", utm={"source": "ads"})
PG = os.environ.get("LEADBOT_TEST_DATABASE_URL")


async def make_chat(
    db: Database, clock: FakeClock, *, max_batch: int = 200, leads: Leads | None = None
) -> Chat:
    config = load_config(EXAMPLE_CONFIG_PATH)
    reps, queues = directory_rows(config)
    async with db.transaction() as session:
        await sync_directory(session, reps, queues)

    async def publish(_chat_id: str, _lines: list[ChatLine]) -> None:
        return None

    setup = ChatSetup(
        config.qualification_script(),
        "GB",
        timedelta(seconds=config.widget.idle_capture_seconds),
    )
    leads = leads or make_leads(db, clock)
    return Chat(db, clock, leads, setup, lambda: None, publish, max_batch=max_batch)


def conversation_script(c: int) -> list[tuple[str, str]]:
    """(text, client_id) in the order one visitor sends them; resends reuse a client_id."""
    lines = [(f"Visitor {c}", f"{c}-name"), (f"Visitor {c}", f"{c}-name")]  # resent at once
    if c % 2:
        lines.append(("not an email", f"{c}-bad"))  # re-asked
    lines += [(f"visitor{c}@example.com", f"{c}-email"), ("Initech", f"{c}-company")]
    lines.append((f"visitor{c}@example.com", f"{c}-email"))  # resent later
    if c % 3 == 0:  # finishes (human), then chats live while the capture runs
        lines += [("talk to a human", f"{c}-human"), ("are you there?", f"{c}-live-1")]
        lines += [("hello?", f"{c}-live-2")]
    return lines


def arrival_order(conversations: int) -> list[tuple[int, str, str]]:
    """Every visitor's lines, interleaved round by round: (conversation, text, client_id)."""
    scripts = [conversation_script(c) for c in range(conversations)]
    rounds = max(len(s) for s in scripts)
    return [(c, *s[r]) for r in range(rounds) for c, s in enumerate(scripts) if r < len(s)]


async def run_turns(chat: Chat, conversations: int, *, concurrent: bool) -> dict[str, Any]:
    ids = [(await chat.start(VISIT, origin=None, ip=None)).session_id for _ in range(conversations)]
    order = arrival_order(conversations)
    if concurrent:  # tasks start in creation order, so each is queued in arrival order
        tasks = [asyncio.create_task(chat.say(ids[c], t, cid)) for c, t, cid in order]
        said: list[Said] = list(await asyncio.gather(*tasks))
    else:
        said = [await chat.say(ids[c], t, cid) for c, t, cid in order]
    db: Database = chat._db
    async with db.reading() as session:
        stored = {
            c: [
                tuple(r)
                for r in await session.execute(
                    select(
                        ChatMessage.seq, ChatMessage.author, ChatMessage.text, ChatMessage.client_id
                    )
                    .where(ChatMessage.session_id == chat_id)
                    .order_by(ChatMessage.seq)
                )
            ]
            for c, chat_id in enumerate(ids)
        }
        last_seqs = {
            c: await session.scalar(select(ChatSession.last_seq).where(ChatSession.id == chat_id))
            for c, chat_id in enumerate(ids)
        }
        relays = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == RELAY_VISITOR_MESSAGE)
        )
        leads = await session.scalar(select(func.count()).select_from(Lead))
    return {
        "said": said,
        "stored": stored,
        "last_seqs": last_seqs,
        "relays": relays,
        "leads": leads,
        "order": order,
    }


@pytest.fixture
def reference_db(database_url: str, tmp_path: Path) -> Iterator[Database | None]:
    """A second empty database for the one-at-a-time run (None on PostgreSQL: the test runs
    the reference first and empties the one database in between)."""
    if PG:
        yield None
        return
    path = tmp_path / "reference.db"
    shutil.copyfile(database_url.removeprefix("sqlite+aiosqlite:///"), path)
    yield Database(f"sqlite+aiosqlite:///{path}")


async def _empty(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


async def test_concurrent_turns_match_one_at_a_time(
    db: Database, reference_db: Database | None
) -> None:
    conversations = 9
    one_db = reference_db or db
    try:
        reference = await run_turns(
            await make_chat(one_db, FakeClock(), max_batch=1), conversations, concurrent=False
        )
    finally:
        if reference_db is not None:
            await reference_db.dispose()
    if reference_db is None:
        await _empty(db)
    # Small batches, so turns of one conversation span several batches too.
    batched = await run_turns(
        await make_chat(db, FakeClock(), max_batch=7), conversations, concurrent=True
    )

    assert batched["said"] == reference["said"]
    assert batched["stored"] == reference["stored"]
    assert batched["relays"] == reference["relays"] == 2 * len(range(0, conversations, 3))
    assert batched["leads"] == reference["leads"] == len(range(0, conversations, 3))
    for c, rows in batched["stored"].items():
        # Gap-free seqs, counter in step, each client_id once, visitor lines in arrival order.
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        assert batched["last_seqs"][c] == len(rows)
        client_ids = [r[3] for r in rows if r[1] == "visitor"]
        sent = [cid for k, _t, cid in batched["order"] if k == c]
        assert client_ids == list(dict.fromkeys(sent))
    live = [
        s for s, turn in zip(batched["said"], batched["order"], strict=True) if "live" in turn[2]
    ]
    assert live and all(s.state.phase == LIVE and not s.duplicate for s in live)


async def test_a_failing_turn_fails_only_its_caller(db: Database) -> None:
    chat = await make_chat(db, FakeClock())
    a, b, c = [(await chat.start(VISIT, origin=None, ip=None)).session_id for _ in range(3)]
    # Another replica got seq 3 of `b` in first: this batch's insert collides with it.
    async with db.transaction() as session:
        session.add(
            ChatMessage(
                session_id=b,
                seq=3,
                author="visitor",
                text="from elsewhere",
                created_at=FakeClock().now(),
            )
        )
    results = await asyncio.gather(
        chat.say(a, "Ada", "a-1"),
        chat.say(b, "Bob", "b-1"),
        chat.say("no-such-conversation", "hi", "x-1"),
        chat.say(c, "Cy", "c-1"),
        chat.say(a, "ada@example.com", "a-2"),
        return_exceptions=True,
    )
    ok_a, failed_b, unknown, ok_c, ok_a2 = results
    assert isinstance(failed_b, IntegrityError)
    assert isinstance(unknown, UnknownSession)
    assert isinstance(ok_a, Said) and isinstance(ok_c, Said) and isinstance(ok_a2, Said)
    assert (ok_a.seq, ok_c.seq, ok_a2.seq) == (3, 3, 5)
    assert [line.text for line in ok_a2.replies] == ["Which company are you with?"]
    async with db.reading() as session:
        counts = dict(
            (
                await session.execute(
                    select(ChatMessage.session_id, func.count()).group_by(ChatMessage.session_id)
                )
            ).all()
        )
    assert counts == {a: 6, b: 3, c: 4}


async def test_close_finishes_turns_in_flight_and_refuses_new_ones(db: Database) -> None:
    chat = await make_chat(db, FakeClock(), max_batch=4)
    ids = [(await chat.start(VISIT, origin=None, ip=None)).session_id for _ in range(5)]
    lines = [("Visitor", "n"), ("v{}@example.com", "e"), ("talk to a human", "h"), ("hi", "l")]
    tasks = [
        asyncio.create_task(chat.say(chat_id, t.format(n), f"{chat_id}-{cid}"))
        for t, cid in lines
        for n, chat_id in enumerate(ids)
    ]
    await asyncio.sleep(0)  # all queued, the first batch running
    await chat.close()
    said = await asyncio.gather(*tasks)
    assert [s.seq for s in said[:5]] == [3] * 5 and not any(s.duplicate for s in said)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "leadbot-chat-turns"]
    with pytest.raises(TurnsClosed):
        await chat.say(ids[0], "more", "late")
    async with db.reading() as session:
        stored = await session.scalar(
            select(func.count()).select_from(ChatMessage).where(ChatMessage.author == "visitor")
        )
    assert stored == len(tasks)


async def test_turns_behind_a_finishing_one_wait_for_its_capture(db: Database) -> None:
    chat = await make_chat(db, FakeClock())
    chat_id = (await chat.start(VISIT, origin=None, ip=None)).session_id
    texts = ["Ada", "ada@example.com", "talk to a human", "still there?", "hello?"]
    said = await asyncio.gather(*(chat.say(chat_id, t, f"m{n}") for n, t in enumerate(texts)))
    assert [s.seq for s in said] == [3, 5, 7, 9, 10]
    assert [s.state.phase for s in said[2:]] == [LIVE] * 3
    assert [s.replies for s in said[3:]] == [[], []]
    async with db.reading() as session:
        relays = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == RELAY_VISITOR_MESSAGE)
        )
        assert len(list(relays)) == 2
        unlinked = await session.scalar(
            select(func.count()).select_from(ChatMessage).where(ChatMessage.lead_id.is_(None))
        )
    assert unlinked == 0
