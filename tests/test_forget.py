"""`/leads forget EMAIL|PHONE` end to end (issue 7): the real bot, the sandbox as Slack.

A person reaches the team twice — a form lead that was lost, then a website chat
relayed live into its card's thread, which a second form capture (the phone
written another way) merges into — and a manager erases them. Then a query over
every text and JSON column of every table finds nothing of them, the lead and
event rows are still there to be counted, and Slack's card and relayed lines no
longer show them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, cast, func, or_, select

from bot.clock import FakeClock
from bot.domain.lead import LeadState
from bot.erasure import ErasureDelivery
from bot.outbox import RenderedMessage
from handlers.forget_command import USAGE, render_erased_line
from handlers.slack_commands import refusal
from sandbox import RecordedCall, Sandbox
from store import chat as chat_store
from store import leads as lead_store
from store.db import Database
from store.models import Base, ChatMessage, ChatSession, Lead, LeadEvent, OutboxMessage, PageView
from tests.harness import (
    RunningBot,
    card_lead_id,
    running_bot,
    wait_for_card,
    with_slow_ladders,
    without_exclusivity,
)
from tests.widget_ws_client import answer_for, widget

SALES = "C0SALES01"
MANAGER, ALICE = "U0MGR01", "U0ALICE1"
EMAIL = "john.doe@example.com"
PHONE, PHONE_AGAIN, E164 = "+44 20 7946 0958", "020 7946 0958", "+442079460958"
#: What must be nowhere once John is erased (compared in lowercase).
TRACES = (
    EMAIL,
    E164,
    PHONE,
    PHONE_AGAIN,
    "2079460958",
    "7946 0958",
    "john doe",
    "initech",
)


@pytest.fixture
async def bot(database_url: str, slack: Sandbox) -> AsyncIterator[RunningBot]:
    """Any rep of the queue may claim at once; the SLA ladder runs in hours (no nags)."""
    config = with_slow_ladders(without_exclusivity())
    async with running_bot(database_url, slack.api_url, config=config) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll recorded state (not a sleep for an effect): fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "timed out waiting for the recorded state"
        await asyncio.sleep(0.05)


async def settle(bot: RunningBot) -> None:
    """Wait until the outbox has delivered everything, then bring the report facts up to date
    (their job would otherwise change rows under a before/after comparison)."""

    async def idle() -> bool:
        async with bot.services.db.reading() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            )
        return pending == 0

    await wait_until(idle)
    await bot.services.projector.catch_up()


def text_columns() -> Iterator[tuple[Any, Any]]:
    """(table, column) for every String, Text and JSON column of the schema."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text | JSON):
                yield table, column


async def traces(db: Database, needles: tuple[str, ...] = TRACES) -> list[str]:
    """`table.column: value` for every stored value that contains one of `needles`."""
    found: list[str] = []
    async with db.reading() as session:
        for table, column in text_columns():
            as_text = func.lower(cast(column, Text))
            rows = await session.scalars(
                select(cast(column, Text)).where(
                    or_(*(as_text.contains(n.lower(), autoescape=True) for n in needles))
                )
            )
            found += [f"{table.name}.{column.name}: {value}" for value in rows]
    return found


async def dump(db: Database) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order: to show nothing changed."""
    tables: dict[str, list[str]] = {}
    async with db.reading() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    return tables


async def command(slack: Sandbox, user: str, text: str) -> str:
    """Run `/leads text` as `user` in #sales; the answer Slack shows them (ephemerally)."""
    before = len(slack.ephemerals(SALES, user))
    result = await slack.send_slash_command(user, SALES, text)
    assert result.status == 200, result
    answers = slack.ephemerals(SALES, user)
    assert len(answers) == before + 1
    return answers[-1].text


async def stored_lead(bot: RunningBot, lead_id: int) -> Lead:
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None
    return lead


async def history(bot: RunningBot) -> list[tuple[int, int, str, str | None, str | None, str]]:
    """Every event as (id, lead, kind, from, to, actor): what the reports count."""
    async with bot.services.db.reading() as session:
        rows = await session.scalars(select(LeadEvent).order_by(LeadEvent.id))
        return [(e.id, e.lead_id, e.kind, e.from_state, e.to_state, e.actor) for e in rows]


def updated_to(
    ts: str, predicate: Callable[[RecordedCall], bool]
) -> Callable[[RecordedCall], bool]:
    return lambda c: c.args.get("ts") == ts and predicate(c)


async def form_lead_lost(bot: RunningBot, slack: Sandbox) -> tuple[int, str]:
    """John fills in the form; Alice claims the lead and marks it lost, naming him."""
    status, created = await bot.post_lead(
        {
            "email": "John.Doe@Example.com",
            "name": "John Doe",
            "company": "Initech",
            "source": "newsletter",
            "answers": {"notes": "Write to john.doe@example.com, not the office"},
            "utm": {"source": "newsletter", "campaign": "spring", "content": EMAIL},
        }
    )
    assert status == 201 and created["merged"] is False, created
    lead_id = int(created["id"])
    card_ts = (await wait_for_card(slack, lead_id)).response["ts"]
    await slack.click_button(ALICE, SALES, card_ts, "Claim")
    await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == card_ts)
    await slack.click_button(ALICE, SALES, card_ts, "Lost")
    await slack.wait_for_call("views.open")
    done = await slack.submit_view(
        ALICE,
        {
            "lost_reason": {"reason": "Other"},
            "lost_details": {"text": "John Doe asked us to call 020 7946 0958 next year"},
        },
    )
    assert done.outcome == "closed", done

    async def lost() -> bool:
        return (await stored_lead(bot, lead_id)).state == LeadState.LOST.value

    await wait_until(lost)
    return lead_id, card_ts


async def chat_lead_with_relayed_lines(
    bot: RunningBot, slack: Sandbox, other_lead: str
) -> tuple[int, str, list[str]]:
    """John chats on the website (a new lead: the first is lost); Alice claims it and they
    talk through the card's thread. Returns the lead, its card and the relayed lines' ts."""
    relayed: list[str] = []
    async with widget(bot.url) as visitor:
        welcome = await visitor.hello()
        state, texts = welcome["state"], iter(["John Doe", "Initech"])
        john = {"email": "John.Doe@example.com", "phone": PHONE, "number": "250"}
        while state["phase"] == "qualifying":
            hint = state["input"] or {}
            await visitor.say(john.get(hint.get("kind", "text")) or answer_for(hint, texts))
            state = await visitor.next("state")
        [post] = await slack.wait_for_call(
            "chat.postMessage",
            lambda c: card_lead_id(c.args.get("metadata")) not in (None, other_lead),
        )
        lead_id = int(card_lead_id(post.args["metadata"]) or 0)
        card_ts = post.response["ts"]
        await slack.click_button(ALICE, SALES, card_ts, "Claim")
        await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == card_ts)
        await slack.post_user_message(ALICE, SALES, "Hi John Doe, thanks!", thread_ts=card_ts)
        await visitor.next("message", where=lambda f: f["author"] == "rep")
        for count, line in enumerate(
            [f"Reach me on {PHONE_AGAIN} or {EMAIL}", "I'm John Doe from Initech"], start=1
        ):
            await visitor.say(line)
            calls = await slack.wait_for_call(
                "chat.postMessage",
                lambda c: c.args.get("thread_ts") == card_ts and "(visitor)" in c.args["text"],
                count=count,
            )
            relayed.append(calls[-1].response["ts"])
    return lead_id, card_ts, relayed


async def test_a_manager_erases_a_person_everywhere_and_the_counts_stay(
    bot: RunningBot, slack: Sandbox
) -> None:
    lost_id, lost_card = await form_lead_lost(bot, slack)
    chat_id, chat_card, relayed = await chat_lead_with_relayed_lines(bot, slack, str(lost_id))
    # He comes back through the form with the phone written another way: a merge, no card.
    status, again = await bot.post_lead(
        {"phone": PHONE_AGAIN, "name": "John Doe", "company": "Initech Ltd"}
    )
    assert (status, again["id"], again["merged"]) == (201, chat_id, True)
    [note] = await slack.wait_for_call(
        "chat.postMessage",
        lambda c: c.args.get("thread_ts") == chat_card and "came back" in c.args["text"],
    )
    await settle(bot)
    # The bot's other messages about him: the thread note and the offer DMs (with the card).
    offer_dms = [
        (slack.dm_channel_for(c.args["channel"]), c.response["ts"])
        for c in slack.calls
        if c.method == "chat.postMessage"
        and str(c.args.get("text", "")).startswith(("You're offered lead", "New lead"))
        and str(c.args.get("channel", "")).startswith("U")
    ]
    assert offer_dms, "the scenario offers the leads by DM"
    copies = [(SALES, note.response["ts"]), *offer_dms]
    assert await traces(bot.services.db)  # the check below can find him
    before = await history(bot)
    assert {"captured", "claimed", "lost", "merged"} <= {kind for _, _, kind, *_ in before}

    reply = await command(slack, MANAGER, f"forget {EMAIL.upper()}")

    assert f"2 leads (#{lost_id}, #{chat_id})" in reply, reply
    assert "1 conversation" in reply, reply
    assert "2 lead cards, 2 visitor lines relayed into threads, " in reply, reply
    assert f"{len(copies)} other messages (thread notes, DMs, notices)" in reply, reply
    # Slack: both cards re-rendered as erased, both relayed lines overwritten.
    for ts in (lost_card, chat_card):
        await slack.wait_for_call(
            "chat.update", updated_to(ts, lambda c: c.args["text"].startswith("Erased lead #"))
        )
    for ts in relayed:
        await slack.wait_for_call(
            "chat.update", updated_to(ts, lambda c: c.args["text"] == "(erased)")
        )
    await settle(bot)

    # Nothing of him in any text or JSON column of any table.
    assert await traces(bot.services.db) == []
    # The leads and every event are still there to be counted: same kinds, states, actors.
    after = await history(bot)
    assert after[: len(before)] == before
    erased = after[len(before) :]
    assert sorted((lead, kind, actor) for _, lead, kind, _, _, actor in erased) == [
        (lost_id, "erased", MANAGER),
        (chat_id, "erased", MANAGER),
    ]
    async with bot.services.db.reading() as session:
        audit = await session.scalar(select(LeadEvent.data).where(LeadEvent.kind == "erased"))
        lines = list(await session.scalars(select(ChatMessage.text)))
        views = list(await session.execute(select(PageView.url, PageView.referrer)))
        chat = await session.scalar(select(ChatSession).where(ChatSession.lead_id == chat_id))
    assert audit is not None and audit["leads"] == 2 and audit["conversations"] == 1
    assert set(audit) == {"leads", "conversations", "messages", "page_views", "events"}
    assert lines and set(lines) == {"(erased)"}
    assert views and set(views) == {("(erased)", None)}
    assert chat is not None and chat.ip is None and chat.closed_at is not None
    for lead_id, state in ((lost_id, "lost"), (chat_id, "claimed")):
        lead = await stored_lead(bot, lead_id)
        assert (lead.state, lead.owner_id, lead.erased_at is not None) == (state, ALICE, True)
        assert lead.source == "newsletter" and lead.score > 0
        assert "page" not in lead.first_touch and lead.utm.get("campaign") == "spring"
    assert (await stored_lead(bot, lost_id)).lost_reason == "(erased)"

    # Slack's copies no longer show him either.
    for ts in (lost_card, chat_card, *relayed):
        message = slack.get_message(SALES, ts)
        shown = (message.text + json.dumps(message.blocks)).lower()
        assert not [n for n in TRACES if n.lower() in shown], shown
    assert (
        slack.get_message(SALES, chat_card).blocks[0]["text"]["text"] == f"Erased lead #{chat_id}"
    )
    assert [slack.get_message(SALES, ts).text for ts in relayed] == ["(erased)", "(erased)"]
    for channel, ts in copies:
        await slack.wait_for_call("chat.update", updated_to(ts, lambda c: True))
        assert channel is not None and slack.get_message(channel, ts).text == "(erased)"

    # Erasing again finds nothing and changes nothing.
    snapshot = await dump(bot.services.db)
    again_reply = await command(slack, MANAGER, f"forget {EMAIL}")
    assert again_reply.startswith(":mag: Nothing matched"), again_reply
    assert await dump(bot.services.db) == snapshot

    # He is never matched again: writing in once more makes a new lead, with a new card.
    status, fresh = await bot.post_lead({"email": EMAIL, "name": "John Doe"})
    assert status == 201 and fresh["merged"] is False and fresh["id"] not in (lost_id, chat_id)
    await wait_for_card(slack, fresh["id"])


async def test_a_phone_only_person_is_erased_by_their_number_written_any_way(
    bot: RunningBot, slack: Sandbox
) -> None:
    status, created = await bot.post_lead({"phone": PHONE, "name": "John Doe"})
    assert status == 201
    card_ts = (await wait_for_card(slack, created["id"])).response["ts"]
    status, other = await bot.post_lead({"email": "mary@globex.example", "name": "Mary Major"})
    assert status == 201
    await settle(bot)

    reply = await command(slack, MANAGER, f"forget {PHONE_AGAIN}")

    assert f"1 lead (#{created['id']})" in reply and "1 lead card" in reply, reply
    await slack.wait_for_call(
        "chat.update", updated_to(card_ts, lambda c: c.args["text"].startswith("Erased lead"))
    )
    await settle(bot)
    assert await traces(bot.services.db) == []
    # Somebody else's lead is untouched.
    mary = await stored_lead(bot, other["id"])
    assert (mary.name, mary.email, mary.erased_at) == ("Mary Major", "mary@globex.example", None)


async def test_only_managers_may_erase_and_bad_words_get_the_usage(
    bot: RunningBot, slack: Sandbox
) -> None:
    status, created = await bot.post_lead({"email": EMAIL, "name": "John Doe"})
    assert status == 201
    await wait_for_card(slack, created["id"])
    await settle(bot)
    snapshot = await dump(bot.services.db)

    assert await command(slack, ALICE, f"forget {EMAIL}") == refusal("forget")
    assert await command(slack, MANAGER, "forget") == USAGE
    for words, says in [
        (f"{EMAIL} please", "is more than one word"),
        ("john", "is not an email address or phone number"),
        ("john@", "is not a valid email address"),
        ("+44 12", "is not a valid phone number"),
    ]:
        answer = await command(slack, MANAGER, f"forget {words}")
        assert says in answer and answer.endswith(USAGE), answer
    # Unknown to the bot: nothing matched, nothing changed.
    nobody = await command(slack, MANAGER, "forget nobody@example.com")
    assert nobody.startswith(":mag: Nothing matched `nobody@example.com`") and "email" in nobody

    assert await dump(bot.services.db) == snapshot
    lead = await stored_lead(bot, created["id"])
    assert (lead.email, lead.erased_at) == (EMAIL, None)


async def test_a_chat_that_left_an_email_but_is_no_lead_yet_is_erased_too(
    bot: RunningBot, slack: Sandbox
) -> None:
    """A visitor gave their email and went quiet: the idle capture would make a lead of it
    later. Erased, the conversation is closed, so it never will."""
    async with widget(bot.url) as visitor:
        welcome = await visitor.hello()
        assert welcome["state"]["input"]["kind"] == "text"  # the name, then the email
        await visitor.say("John Doe")
        await visitor.next("state")
        await visitor.say("John.Doe@example.com")
        await visitor.next("state")
    await settle(bot)
    assert await traces(bot.services.db)

    reply = await command(slack, MANAGER, f"forget {EMAIL}")

    assert reply.startswith(":wastebasket: Erased that person's website chat: 1 conversation")
    assert "No lead had their details." in reply
    assert await traces(bot.services.db) == []
    later = bot.services.clock.now() + timedelta(days=1)
    async with bot.services.db.reading() as session:
        assert await chat_store.idle_candidates(session, quiet_since=later) == []
        assert await chat_store.finished_uncaptured(session, quiet_since=later) == []
        assert await session.scalar(select(func.count()).select_from(Lead)) == 0


class RecordingUpdater:
    """A Slack sender that records `chat.update` calls."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, str]] = []

    async def update_message(
        self, channel: str, ts: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> None:
        self.updates.append((channel, ts, message.text))


async def test_a_line_is_overwritten_only_where_the_bot_posted_a_copy(
    db: Database, clock: FakeClock
) -> None:
    """A visitor line relayed to the thread is overwritten; one whose relay has not posted
    (it will post the erased text itself), a rep's own Slack message and a line that is
    gone are left alone."""
    now = clock.now()
    async with db.transaction() as session:
        lead = await lead_store.insert_lead(
            session,
            now=now,
            state="claimed",
            intake="widget",
            slack_channel_id=SALES,
            slack_ts="100.000100",
        )
        session.add(
            ChatSession(id="c1", token_hash="h1", lead_id=lead.id, started_at=now, last_seen_at=now)
        )
        await session.flush()
        lines = [
            await chat_store.add_message(
                session,
                chat_id="c1",
                author=author,
                text="(erased)",
                now=now,
                lead_id=lead.id,
                slack_ts=ts,
            )
            for author, ts in (("visitor", "100.000200"), ("visitor", None), ("rep", "100.000300"))
        ]
        ids = [line.id for line in lines]
    sender = RecordingUpdater()
    delivery = ErasureDelivery(db, sender, render_erased_line)
    for message_id in [*ids, 9999]:
        await delivery.erase_line(OutboxMessage(payload={"message_id": message_id}))
    assert sender.updates == [(SALES, "100.000200", "(erased)")]
