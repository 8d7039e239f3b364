"""A visitor qualifies over the widget WebSocket, becomes a card, and chats live with the rep
through the card's Slack thread (SPEC §3, §5 relay): the real bot, the sandbox as Slack."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from sandbox import Sandbox
from store.models import ChatMessage, Lead, LeadEvent
from tests.harness import RunningBot, card_lead_id
from tests.widget_ws_client import widget

SALES = "C0SALES01"
ALICE, BOB = "U0ALICE1", "U0BOB001"


async def wait_until(predicate, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Poll recorded state (not a sleep for an effect): fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        assert loop.time() < deadline, "timed out waiting for the recorded state"
        await asyncio.sleep(0.02)


async def test_visitor_qualifies_then_chats_live_with_the_owner_through_the_thread(
    bot: RunningBot, slack: Sandbox
) -> None:
    async with widget(bot.url) as visitor:
        welcome = await visitor.hello()
        states = await visitor.answer_script(welcome)
        assert states[-1]["phase"] == "live"

        # One card in the queue channel, carrying the answers.
        [post] = await slack.wait_for_call(
            "chat.postMessage", lambda c: card_lead_id(c.args.get("metadata")) is not None
        )
        lead_id = int(card_lead_id(post.args["metadata"]) or 0)
        card_ts = post.response["ts"]
        blocks = json.dumps(post.args["blocks"])
        for shown in ("Jane Doe", "Initech", "Over $50k", "250"):
            assert shown in blocks
        async with bot.services.db.reading() as session:
            lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.intake == "widget" and lead.source == "newsletter"
        assert lead.email_normalized == "jane.doe@example.com" and lead.phone_e164

        # Alice claims and replies in the thread: the visitor gets it live, Slack shows it sent.
        await slack.click_button(ALICE, SALES, card_ts, "Claim")
        await slack.wait_for_call("chat.update")
        reply = await slack.post_user_message(
            ALICE, SALES, "Hi Jane, @bob & I can help <today>", thread_ts=card_ts
        )
        pushed = await visitor.next("message", where=lambda f: f["author"] == "rep")
        assert pushed["text"] == "Hi Jane, @Bob Okafor & I can help <today>"
        assert pushed["name"] == "Alice Johnson"
        await slack.wait_for_call("reactions.add", lambda c: c.args.get("timestamp") == reply.ts)
        assert [r.name for r in slack.get_message(SALES, reply.ts).reactions] == [
            "white_check_mark"
        ]

        # The visitor answers: it appears in the thread, escaped and attributed.
        ack = await visitor.say("Great, call me <!channel> tomorrow")
        assert ack["type"] == "ack"
        [relayed] = await slack.wait_for_call(
            "chat.postMessage", lambda c: c.args.get("thread_ts") == card_ts
        )
        assert (
            relayed.args["text"] == "*Jane Doe (visitor):* Great, call me &lt;!channel&gt; tomorrow"
        )

        # A note and a non-owner's reply stay internal; a second owner reply is relayed.
        await slack.post_user_message(ALICE, SALES, "Note: budget looks real", thread_ts=card_ts)
        await slack.post_user_message(BOB, SALES, "I know this company", thread_ts=card_ts)
        await slack.post_user_message(ALICE, SALES, "Talk soon!", thread_ts=card_ts)
        second = await visitor.next("message", where=lambda f: f["author"] == "rep")
        assert second["text"] == "Talk soon!"

    async with bot.services.db.reading() as session:
        rep_lines = list(
            await session.scalars(
                select(ChatMessage.text)
                .where(ChatMessage.author == "rep")
                .order_by(ChatMessage.seq)
            )
        )
        firsts = await session.scalar(
            select(func.count())
            .select_from(LeadEvent)
            .where(LeadEvent.kind == "first_contact", LeadEvent.lead_id == lead_id)
        )
        lead = await session.get(Lead, lead_id)
        visitor_line = await session.scalar(
            select(ChatMessage).where(ChatMessage.text.like("Great, call me%"))
        )
    assert rep_lines == ["Hi Jane, @Bob Okafor & I can help <today>", "Talk soon!"]
    assert firsts == 1 and lead is not None and lead.first_contact_at is not None
    assert visitor_line is not None and visitor_line.relayed_at is not None
    # Exactly one card for the conversation.
    assert [m.ts for m in slack.messages(SALES) if m.metadata] == [card_ts]


async def test_reload_resumes_the_conversation_and_sees_rep_replies_sent_while_away(
    bot: RunningBot, slack: Sandbox
) -> None:
    async with widget(bot.url) as visitor:
        welcome = await visitor.hello()
        await visitor.answer_script(welcome)
        token = welcome["token"]
    [post] = await slack.wait_for_call(
        "chat.postMessage", lambda c: card_lead_id(c.args.get("metadata")) is not None
    )
    card_ts = post.response["ts"]
    await slack.click_button(ALICE, SALES, card_ts, "Claim")
    await slack.wait_for_call("chat.update")
    reply = await slack.post_user_message(ALICE, SALES, "Are you still there?", thread_ts=card_ts)
    await slack.wait_for_call("reactions.add", lambda c: c.args.get("timestamp") == reply.ts)

    async with widget(bot.url) as again:
        resumed = await again.hello(token)
    assert resumed["resumed"] is True and resumed["session_id"] == welcome["session_id"]
    assert resumed["state"]["phase"] == "live"
    assert resumed["history"][-1]["text"] == "Are you still there?"
    assert [m["seq"] for m in resumed["history"]] == list(range(1, len(resumed["history"]) + 1))
