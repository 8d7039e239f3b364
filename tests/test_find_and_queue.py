"""`/leads find` and `/leads queue` end to end: signed slash commands through the sandbox to
the real bot on a fake clock (Monday 5 January 2026, 09:00 UTC = 09:00 in the workspace's
Europe/London).

The team is the example configuration's, with three changes that give the queue view
something to show: Alice's capacity is 1 open lead, Carmen works from 10:15 Madrid time
(so at 09:00 UTC she is outside her hours until 09:15 UTC), and the enterprise queue has
business hours. The SLA ladders run in hours, so no step fires while the clock moves by
minutes. `/leads find` is slow: acknowledged at once, answered through the
command's `response_url`, which Slack (the sandbox) shows as an ephemeral message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, parse_config
from bot.domain.hours import WeeklyHours
from bot.lookup import LeadQuery, QueryError, QueryKind, parse_query
from handlers.queue_command import describe_hours
from sandbox import Sandbox
from sandbox.models import Message
from store.db import Database
from store.models import Lead, LeadEvent, OutboxMessage, QueueMember, Rep
from tests.blocks import text_objects
from tests.factories import insert_lead
from tests.harness import RunningBot, running_bot, wait_for_card, with_slow_ladders

SALES, ENTERPRISE = "C0SALES01", "C0ENTPR01"
ALICE, BOB, CARMEN = "U0ALICE1", "U0BOB001", "U0CARMEN"
DEV, ERIN = "U0DEVPA1", "U0ERIN01"
MANAGER = "U0MGR01"
REFUSAL = ":no_entry: `/leads queue` is for managers only."
FIND_USAGE = "Usage: `/leads find TEXT`"


def team_config() -> LeadbotConfig:
    text = EXAMPLE_CONFIG_PATH.read_text()
    for old, new in [
        ("    name: Alice Johnson\n", "    name: Alice Johnson\n    capacity: 1\n"),
        (
            "    timezone: Europe/Madrid\n",
            "    timezone: Europe/Madrid\n"
            '    working_hours: {days: [mon, tue, wed, thu, fri], start: "10:15", end: "18:00"}\n',
        ),
        (
            "    exclusivity_seconds: 300\n",
            "    exclusivity_seconds: 300\n"
            "    business_hours:\n"
            "      timezone: America/New_York\n"
            '      hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:30"}\n'
            "      holidays: [2026-12-25]\n",
        ),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return with_slow_ladders(parse_config(text, source="test-config.yaml"))


@pytest.fixture
async def bot(database_url: str, slack: Sandbox, clock: FakeClock) -> AsyncIterator[RunningBot]:
    config = team_config()
    async with running_bot(database_url, slack.api_url, clock=clock, config=config) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


# ------------------------------------------------------------------------ helpers


async def command(slack: Sandbox, user: str, text: str, channel: str = SALES) -> Message:
    """Run `/leads text` as `user`; the answer Slack shows them in the ack, ephemerally."""
    before = len(slack.ephemerals(channel, user))
    result = await slack.send_slash_command(user, channel, text)
    assert result.status == 200, result
    answers = slack.ephemerals(channel, user)
    assert len(answers) == before + 1
    return answers[-1]


async def slow_command(slack: Sandbox, user: str, text: str, channel: str = SALES) -> Message:
    """Run a slow `/leads text`: a silent ack, then the answer through `response_url`."""
    answered = len(slack.log.matching("response_url"))
    before = len(slack.ephemerals(channel, user))
    result = await slack.send_slash_command(user, channel, text)
    assert result.status == 200, result
    assert not result.body.strip()  # the ack itself shows nothing
    await slack.wait_for_call("response_url", count=answered + 1)
    answers = slack.ephemerals(channel, user)
    assert len(answers) == before + 1
    return answers[-1]


def texts(message: Message) -> list[str]:
    """The message's mrkdwn and plain texts, block by block."""
    return [text for _, text in text_objects(message.blocks or [])]


def results(message: Message) -> list[str]:
    """The `/leads find` results: one text per lead, after the heading."""
    sections = [b for b in message.blocks or [] if b["type"] == "section"]
    return [str(b["text"]["text"]) for b in sections[1:]]


def result_ids(message: Message) -> list[int]:
    return [int(text.split("*")[1].lstrip("#")) for text in results(message)]


async def new_lead(bot: RunningBot, slack: Sandbox, **body: Any) -> tuple[int, str]:
    """Post a lead through the API; its id and its card's ts once the card is posted."""
    status, created = await bot.post_lead(body)
    assert status == 201, created
    call = await wait_for_card(slack, created["id"])
    return int(created["id"]), str(call.response["ts"])


def card_link(ts: str, channel: str = SALES) -> str:
    return f"<https://leadbot-demo.slack.com/archives/{channel}/p{ts.replace('.', '')}|card>"


async def stored(db: Database, lead_id: int) -> Lead:
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None
    return lead


async def snapshot(db: Database) -> dict[str, list[Any]]:
    """Everything `/leads queue` might change if it were not read-only."""
    async with db.reading() as session:
        tables: dict[str, list[Any]] = {}
        for name, model in (
            ("queue_members", QueueMember),
            ("leads", Lead),
            ("reps", Rep),
            ("lead_events", LeadEvent),
            ("outbox", OutboxMessage),
        ):
            columns = list(model.__table__.columns)  # type: ignore[attr-defined]
            rows = await session.execute(select(*columns).order_by(*columns[:2]))
            tables[name] = [tuple(row) for row in rows]
        return tables


# ------------------------------------------------------------------------ pure parts


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("123", QueryKind.ID, "123"),
        ("#0042", QueryKind.ID, "42"),
        ("999999999", QueryKind.ID, "999999999"),
        ("  John.Doe@Example.COM ", QueryKind.EMAIL, "john.doe@example.com"),
        ("020 7946 0958", QueryKind.PHONE, "+442079460958"),
        ("+44 (0)20-7946-0958", QueryKind.PHONE, "+442079460958"),
        ("07400123456", QueryKind.PHONE, "+447400123456"),  # too long for an id
        ("John   Doe", QueryKind.NAME, "John Doe"),
        ("3M", QueryKind.NAME, "3M"),
        ("50%_off", QueryKind.NAME, "50%_off"),
    ],
)
def test_what_find_looks_for(text: str, kind: QueryKind, value: str) -> None:
    assert parse_query(text, "GB") == LeadQuery(kind, value)


@pytest.mark.parametrize("text", ["", "   ", "#", "#x1", "#1234567890", "a", "@", "+1 555", "-1"])
def test_what_find_refuses(text: str) -> None:
    with pytest.raises(QueryError):
        parse_query(text, "GB")


@pytest.mark.parametrize(
    ("hours", "described"),
    [
        (WeeklyHours.always(), "always open"),
        (WeeklyHours(((),) * 7), "never open"),
        (WeeklyHours.weekly(range(5), time(9), time(17, 30)), "Mon–Fri 09:00–17:30"),
        (
            WeeklyHours(
                (
                    ((time(9), time(12)), (time(13), time(17))),
                    ((time(9), time(12)), (time(13), time(17))),
                    (),
                    ((time(22), time(0)),),
                    (),
                    ((time(10), time(14)),),
                    ((time(10), time(14)),),
                )
            ),
            "Mon–Tue 09:00–12:00, 13:00–17:00; Thu 22:00–24:00; Sat–Sun 10:00–14:00",
        ),
    ],
)
def test_business_hours_in_a_few_words(hours: WeeklyHours, described: str) -> None:
    assert describe_hours(hours) == described


# ------------------------------------------------------------------------ /leads find


async def test_find_by_id_email_phone_name_and_company(bot: RunningBot, slack: Sandbox) -> None:
    john, john_card = await new_lead(
        bot,
        slack,
        email="john.doe@example.com",
        phone="020 7946 0958",
        name="John Doe",
        company="Initech",
    )
    jane, jane_card = await new_lead(
        bot, slack, email="jane@globex.example", name="Jane Roe", company="Globex Corporation"
    )
    assert (await stored(bot.services.db, john)).offered_rep_id == ALICE

    for words in (str(john), f"#{john}"):
        answer = await slow_command(slack, ALICE, f"find {words}")
        assert answer.text == f":mag: Lead #{john}"
        assert result_ids(answer) == [john]
    [line] = results(answer)
    assert line == (
        f"*#{john}* · John Doe · Initech · {card_link(john_card)}\n"
        "offered · SQL · 40 pts · offered to <@U0ALICE1> · Inbound sales · "
        "captured Mon 5 Jan 2026 09:00"
    )

    by_email = await slow_command(slack, BOB, "find John.Doe@Example.com")
    assert by_email.text == ":mag: 1 lead matches email John.Doe@Example.com"
    assert result_ids(by_email) == [john]
    for phone in ("020 7946 0958", "+44 (0)20-7946-0958"):
        assert result_ids(await slow_command(slack, BOB, f"find {phone}")) == [john]
    for name in ("doe", "john DOE", "INITECH", "tech"):
        assert result_ids(await slow_command(slack, MANAGER, f"find {name}")) == [john]
    by_company = await slow_command(slack, MANAGER, "find globex corp")
    assert result_ids(by_company) == [jane]
    assert card_link(jane_card) in results(by_company)[0]
    in_emails_only = await slow_command(slack, MANAGER, "find example")
    assert results(in_emails_only) == []
    assert in_emails_only.text == "No lead matches “example”."

    permalinks = slack.log.matching("chat.getPermalink")
    assert {(c.args["channel"], c.args["message_ts"]) for c in permalinks} == {
        (SALES, john_card),
        (SALES, jane_card),
    }

    # Once claimed, the result says whose it is.
    await slack.click_button(ALICE, SALES, john_card, "Claim")
    await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == john_card)
    [line] = results(await slow_command(slack, ALICE, f"find #{john}"))
    assert "claimed · SQL · 40 pts · owner <@U0ALICE1> · Inbound sales" in line


async def test_find_lists_ten_newest_first_and_counts_the_rest(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    async with bot.services.db.transaction() as session:
        ids = [
            await insert_lead(
                session,
                at=clock.now() + timedelta(minutes=i),
                name=f"Person {i}",
                company="Acme Widgets",
                email=f"p{i}@acme.example",
                email_normalized=f"p{i}@acme.example",
            )
            for i in range(13)
        ]
        await insert_lead(session, at=clock.now(), name="Bob Other", company="Umbrella")
    answer = await slow_command(slack, MANAGER, "find acme widgets")
    assert answer.text == ":mag: 13 leads match “acme widgets”"
    assert result_ids(answer) == ids[::-1][:10]
    assert texts(answer)[-1] == "…and 3 more, older. Add words to narrow the search."
    assert "no queue" in results(answer)[0] and "<https://" not in results(answer)[0]  # no card
    assert slack.log.matching("chat.getPermalink") == []
    # A LIKE wildcard in the words is taken literally.
    assert results(await slow_command(slack, MANAGER, "find acme%widgets")) == []


async def test_prospect_text_in_results_is_escaped(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    async with bot.services.db.transaction() as session:
        lead_id = await insert_lead(
            session, at=clock.now(), name="<!channel> *bold*", company="<@U0ALICE1> & Co"
        )
    answer = await slow_command(slack, MANAGER, "find bold")
    [line] = results(answer)
    assert line.startswith(f"*#{lead_id}* · &lt;!channel&gt; *bold* · &lt;@U0ALICE1&gt; &amp; Co")
    # The words searched for are shown escaped too.
    answer = await slow_command(slack, MANAGER, "find <!channel>")
    assert answer.text == ":mag: 1 lead matches “&lt;!channel&gt;”"
    for text in [answer.text, *texts(answer)]:
        assert "<!channel>" not in text and "<@U0ALICE1>" not in text


async def test_erased_leads_are_found_only_by_id(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    async with bot.services.db.transaction() as session:
        erased = await insert_lead(
            session,
            at=clock.now(),
            name="Erin Erased",
            email="gone@example.com",
            email_normalized="gone@example.com",
            phone_e164="+442079460958",
            erased_at=clock.now(),
        )
    for words in ("gone@example.com", "020 7946 0958", "Erin Erased"):
        assert results(await slow_command(slack, MANAGER, f"find {words}")) == []
    [line] = results(await slow_command(slack, MANAGER, f"find {erased}"))
    assert line == f"*#{erased}* · _erased_ · captured Mon 5 Jan 2026 09:00"
    assert (await slow_command(slack, MANAGER, "find 999")).text == "There is no lead #999."


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ("", "Tell me what to look for"),
        ("#abc", "A lead number is `#` and digits"),
        ("#", "A lead number is `#` and digits"),
        ("#12345678901", "A lead number is `#` and digits"),
        ("x", "at least 2 characters"),
        ("a@b", "not an email address"),
        ("not@an@email.com", "not an email address"),
        ("+1 555", "not a phone number"),
        ("y" * 201, "too long"),
    ],
)
async def test_bad_find_input_gets_usage(
    bot: RunningBot, slack: Sandbox, clock: FakeClock, words: str, says: str
) -> None:
    async with bot.services.db.transaction() as session:
        await insert_lead(session, at=clock.now(), name="Xavier Xu")
    before = await snapshot(bot.services.db)
    answer = await slow_command(slack, ALICE, f"find {words}")
    assert says in answer.text
    assert FIND_USAGE in answer.text
    assert answer.blocks is None and len(answer.text) < 400
    assert await snapshot(bot.services.db) == before


# ------------------------------------------------------------------------ /leads queue


def queue_sections(message: Message) -> dict[str, list[str]]:
    """Each queue's texts (title, member lines, next/waiting line), by queue id."""
    queues: dict[str, list[str]] = {}
    current: list[str] = []
    for block in message.blocks or []:
        if block["type"] == "divider":
            continue
        text = (
            block["text"]["text"]
            if block["type"] == "section"
            else "\n".join(e["text"] for e in block["elements"])
        )
        if block["type"] == "section" and " (`" in text.split("\n")[0] and "<#" in text:
            current = []
            queues[text.split("(`")[1].split("`")[0]] = current
        current.extend(text.split("\n"))
    return queues


def members(message: Message, queue: str = "sales") -> list[str]:
    return [line for line in queue_sections(message)[queue] if line.startswith("• ")]


async def offer_dm(slack: Sandbox, rep: str, lead_id: int) -> None:
    """Wait for the DM offering `lead_id` to `rep`."""
    await slack.wait_for_call(
        "chat.postMessage",
        lambda c: (
            c.args.get("channel") == rep
            and str(c.args.get("text", "")).startswith(f"You're offered lead #{lead_id}:")
        ),
    )


async def outbox_sent(db: Database, within: float = 5.0) -> None:
    """Wait until the dispatcher has marked every outbox row sent (it records a send just
    after Slack answers), so nothing in the background changes the database afterwards."""
    async with asyncio.timeout(within):
        while True:
            async with db.reading() as session:
                pending = await session.scalar(
                    select(func.count()).where(OutboxMessage.status != "sent")
                )
            if not pending:
                return
            await asyncio.sleep(0.02)


async def offered_to(db: Database, lead_id: int) -> str | None:
    return (await stored(db, lead_id)).offered_rep_id


async def test_a_manager_sees_reps_next_rep_and_waiting_leads(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    db = bot.services.db
    answer = await command(slack, MANAGER, "queue")
    assert answer.text == "Queues: sales, enterprise"
    sections = queue_sections(answer)
    assert sections["sales"][0] == (
        "*Inbound sales* (`sales`) · <#C0SALES01> · exclusive to the offered rep for 2m 00s · "
        "business hours: always open"
    )
    assert members(answer) == [
        "• <@U0ALICE1> — :large_green_circle: available · 0/1 open leads · *next*",
        "• <@U0BOB001> — :large_green_circle: available · 0/8 open leads",
        "• <@U0CARMEN> — :zzz: outside working hours (back Mon 5 Jan 09:15) · 0/10 open leads",
    ]
    assert sections["sales"][-1] == (
        ":arrow_right: The next lead goes to <@U0ALICE1>.  "
        ":white_check_mark: No unclaimed leads waiting."
    )
    assert sections["enterprise"][0] == (
        "*Enterprise* (`enterprise`) · <#C0ENTPR01> · exclusive to the offered rep for 5m 00s · "
        "business hours: Mon–Fri 09:00–17:30 America/New_York (1 holiday), closed now"
    )
    assert members(answer, "enterprise") == [
        "• <@U0DEVPA1> — :large_green_circle: available · 0/5 open leads · *next*",
        "• <@U0ERIN01> — :large_green_circle: available · 0/5 open leads",
    ]

    # Bob goes away; the view says since when, and the next lead goes where it said.
    clock.advance(minutes=5)
    await command(slack, BOB, "away")
    answer = await command(slack, MANAGER, "queue sales")
    assert list(queue_sections(answer)) == ["sales"]
    assert members(answer)[1] == (
        "• <@U0BOB001> — :palm_tree: away since Mon 5 Jan 09:05 · 0/8 open leads"
    )
    assert "The next lead goes to <@U0ALICE1>." in queue_sections(answer)["sales"][-1]
    first, first_card = await new_lead(bot, slack, email="first@example.com", name="First")
    assert await offered_to(db, first) == ALICE

    clock.advance(minutes=1, seconds=30)
    answer = await command(slack, MANAGER, "queue sales")
    assert queue_sections(answer)["sales"][-1] == (
        ":arrow_right: The next lead goes to <@U0ALICE1>.  "
        ":hourglass: 1 unclaimed lead waiting; the oldest for 1m 30s."
    )

    # Alice claims it: at her capacity of one, nobody in sales can take the next lead.
    await slack.click_button(ALICE, SALES, first_card, "Claim")
    await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == first_card)
    answer = await command(slack, MANAGER, "queue SALES")
    assert members(answer) == [
        "• <@U0ALICE1> — :no_entry_sign: at capacity · 1/1 open leads",
        "• <@U0BOB001> — :palm_tree: away since Mon 5 Jan 09:05 · 0/8 open leads",
        "• <@U0CARMEN> — :zzz: outside working hours (back Mon 5 Jan 09:15) · 0/10 open leads",
    ]
    assert queue_sections(answer)["sales"][-1] == (
        ":warning: Nobody is available: the next lead opens to the whole channel.  "
        ":white_check_mark: No unclaimed leads waiting."
    )

    # Bob is back: he is next, and he is offered the next lead.
    await command(slack, BOB, "back")
    answer = await command(slack, MANAGER, "queue inbound sales")
    assert (
        members(answer)[1]
        == "• <@U0BOB001> — :large_green_circle: available · 0/8 open leads · *next*"
    )
    second, _ = await new_lead(bot, slack, email="second@example.com", name="Second")
    assert await offered_to(db, second) == BOB

    # From 09:15 Carmen is working; the view and the rotation agree on who is next.
    clock.advance(minutes=10)
    answer = await command(slack, MANAGER, "queue sales")
    carmen = members(answer)[2]
    assert carmen.startswith("• <@U0CARMEN> — :large_green_circle: available · 0/10 open leads")
    [next_up] = [line for line in members(answer) if line.endswith("*next*")]
    third, _ = await new_lead(bot, slack, email="third@example.com", name="Third")
    assert next_up.startswith(f"• <@{await offered_to(db, third)}>")


async def test_the_queue_view_changes_nothing(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    await command(slack, BOB, "away")
    lead, _ = await new_lead(bot, slack, email="someone@example.com", name="Someone")
    await offer_dm(slack, ALICE, lead)
    await outbox_sent(bot.services.db)
    clock.advance(minutes=1)
    before = await snapshot(bot.services.db)
    for text in ("queue", "queue sales", "queue enterprise", "queue nope"):
        await command(slack, MANAGER, text)
    assert await snapshot(bot.services.db) == before
    assert await offered_to(bot.services.db, lead) == ALICE


async def test_unknown_queue_lists_the_valid_ones(bot: RunningBot, slack: Sandbox) -> None:
    answer = await command(slack, MANAGER, "queue <!here> nope")
    assert answer.text == (
        "There is no queue `&lt;!here&gt; nope`. "
        "Queues: `sales` (Inbound sales), `enterprise` (Enterprise)."
    )
    assert answer.blocks is None
    assert list(queue_sections(await command(slack, MANAGER, "queue Enterprise"))) == ["enterprise"]


async def test_only_managers_see_queues_but_anyone_may_find(
    bot: RunningBot, slack: Sandbox
) -> None:
    for text in ("queue", "queue sales", "queue nope"):
        assert (await command(slack, ALICE, text)).text == REFUSAL
    assert (await slow_command(slack, ALICE, "find #1")).text == "There is no lead #1."
    listed = (await command(slack, ALICE, "help")).text
    assert "`/leads find TEXT`" in listed
    assert "`/leads queue [QUEUE]`" in listed
