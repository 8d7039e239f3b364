"""Partial capture: a visitor who left an email and went quiet becomes a lead after the idle
timeout, with what they answered (SPEC §3). Use-case level, fake clock, no sleeping."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import directory_rows
from bot.chat import Chat, ChatSetup
from bot.chat_values import ChatLine, Visit
from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from store.db import Database
from store.directory import sync_directory
from store.models import ChatSession, Lead, OutboxMessage
from tests.factories import make_leads

VISIT = Visit(url="https://www.acme.example/pricing", utm={"source": "ads"})


async def make_chat(db: Database, clock: FakeClock) -> tuple[Chat, list[tuple[str, ChatLine]]]:
    config = load_config(EXAMPLE_CONFIG_PATH)
    reps, queues = directory_rows(config)
    async with db.transaction() as session:
        await sync_directory(session, reps, queues)
    pushed: list[tuple[str, ChatLine]] = []

    async def publish(chat_id: str, lines: list[ChatLine]) -> None:
        pushed.extend((chat_id, line) for line in lines)

    setup = ChatSetup(
        config.qualification_script(),
        "GB",
        timedelta(seconds=config.widget.idle_capture_seconds),
    )
    return Chat(db, clock, make_leads(db, clock), setup, lambda: None, publish), pushed


async def test_quiet_visitor_with_an_email_becomes_a_partial_lead_once(
    db: Database, clock: FakeClock
) -> None:
    chat, pushed = await make_chat(db, clock)
    with_email = await chat.start(VISIT, origin=None, ip="10.0.0.1")
    await chat.say(with_email.session_id, "Jane Doe", "a1")
    await chat.say(with_email.session_id, "Jane@Example.com", "a2")
    name_only = await chat.start(VISIT, origin=None, ip="10.0.0.2")
    await chat.say(name_only.session_id, "Anonymous", "b1")

    clock.advance(299)
    assert await chat.capture_idle() == 0
    clock.advance(2)
    assert await chat.capture_idle() == 1
    assert await chat.capture_idle() == 0  # linked: never captured twice

    async with db.reading() as session:
        leads = list(await session.scalars(select(Lead)))
        linked = await session.get(ChatSession, with_email.session_id)
        other = await session.get(ChatSession, name_only.session_id)
        cards = list(await session.scalars(select(OutboxMessage.kind)))
    [lead] = leads
    assert lead.intake == "widget" and lead.email_normalized == "jane@example.com"
    assert lead.name == "Jane Doe" and lead.source == "ads" and lead.answers == {}
    assert linked is not None and linked.lead_id == lead.id
    assert other is not None and other.lead_id is None and other.idle_checked_at is not None
    # Only an email, no answers: an IQL, kept for nurture and never posted to a queue.
    assert (lead.state, lead.grade, lead.queue_id) == ("nurture", "IQL", None)
    assert cards == []
    # The visitor's tab (if still open) hears the closing line; the chat is live from now on.
    assert [line.text for _, line in pushed] == [
        "Thanks for your time! Someone from our team will be in touch."
    ]
    said = await chat.say(with_email.session_id, "Sorry, got distracted", "a3")
    assert said.state.phase == "live" and said.replies == []


async def test_a_visitor_who_speaks_again_is_looked_at_again(
    db: Database, clock: FakeClock
) -> None:
    chat, _ = await make_chat(db, clock)
    opened = await chat.start(VISIT, origin=None, ip=None)
    await chat.say(opened.session_id, "Jane Doe", "c1")
    clock.advance(301)
    assert await chat.capture_idle() == 0  # nothing worth a lead yet; marked checked
    await chat.say(opened.session_id, "jane@example.com", "c2")
    clock.advance(301)
    assert await chat.capture_idle() == 1
