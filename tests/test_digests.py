"""Recurring digests end to end (SPEC §6): `/leads digest …` signed through the sandbox, the
real bot on a fake clock, the digest posted by its scheduler job through the outbox.

The fake clock starts on Monday 5 January 2026 at 09:00 UTC, which is 09:00 in the
example configuration's workspace timezone (Europe/London, on GMT in January).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from bot.clock import FakeClock
from bot.digests import DIGEST_POST, Digests
from bot.domain.digest import Cadence
from handlers.digest_command import REFUSAL
from handlers.digest_message import DIGEST_EVENT_TYPE
from sandbox import RecordedCall, Sandbox
from store import leads as lead_store
from store.db import Database
from store.models import ApiKey, Digest, OutboxMessage
from tests.harness import RunningBot, running_bot

SALES, ESCALATIONS = "C0SALES01", "C0MGRESC1"
MANAGER, ALICE = "U0MGR01", "U0ALICE1"
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


def monday(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """A moment in the week of 5 January 2026 (UTC = London time in January)."""
    return MONDAY + timedelta(days=days, hours=hour, minutes=minute)


@pytest.fixture
async def bot(database_url: str, slack: Sandbox, clock: FakeClock) -> AsyncIterator[RunningBot]:
    async with running_bot(database_url, slack.api_url, clock=clock) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


async def command(slack: Sandbox, user: str, text: str, channel: str = SALES) -> str:
    """Run `/leads text` as `user`; the answer Slack shows them (the ack, ephemerally)."""
    before = len(slack.ephemerals(channel, user))
    result = await slack.send_slash_command(user, channel, text)
    assert result.status == 200, result
    answers = slack.ephemerals(channel, user)
    assert len(answers) == before + 1
    return answers[-1].text


def is_digest(call: RecordedCall) -> bool:
    return (call.args.get("metadata") or {}).get("event_type") == DIGEST_EVENT_TYPE


async def digest_posts(slack: Sandbox, count: int = 1) -> list[RecordedCall]:
    """Wait for `count` digest posts (the scheduler job polls every 2 s of real time)."""
    return await slack.wait_for_call("chat.postMessage", is_digest, count=count, timeout=10.0)


def fields(call: RecordedCall) -> dict[str, str]:
    """The digest's counts: field name → value."""
    [section] = [b for b in call.args["blocks"] if b.get("block_id") == "digest_counts"]
    pairs = (f["text"].split("\n", 1) for f in section["fields"])
    return {name.strip("*"): value for name, value in pairs}


def period(call: RecordedCall) -> str:
    [context] = [b for b in call.args["blocks"] if b.get("block_id") == "digest_period"]
    return str(context["elements"][0]["text"])


async def seed_events(db: Database, events: list[tuple[str, str | None, datetime]]) -> None:
    """One lead with these (kind, to_state, at) events: digests count events, not leads."""
    async with db.transaction() as session:
        lead = await lead_store.insert_lead(
            session, now=events[0][2], state="new", intake="api", email="p@example.com"
        )
        for kind, to_state, at in events:
            await lead_store.add_event(
                session, lead_id=lead.id, kind=kind, actor="test", at=at, to_state=to_state
            )


async def stored_digests(db: Database) -> list[Digest]:
    async with db.reading() as session:
        return list(await session.scalars(select(Digest).order_by(Digest.id)))


async def digest_rows(db: Database) -> list[OutboxMessage]:
    async with db.reading() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == DIGEST_POST))
        return list(rows)


# ------------------------------------------------------------------------ the command


async def test_a_manager_schedules_lists_and_stops_digests(bot: RunningBot, slack: Sandbox) -> None:
    daily = await command(slack, MANAGER, "digest daily 10:00")
    assert daily == (
        ":calendar: Digest #1 scheduled: every day at 10:00 (Europe/London) in <#C0SALES01>. "
        "First one Mon 5 Jan 10:00. Stop it with `/leads digest stop 1`."
    )
    weekly = await command(slack, MANAGER, "digest weekly FRI 17:00 <#C0MGRESC1|sales-escalations>")
    assert weekly.startswith(
        ":calendar: Digest #2 scheduled: every Friday at 17:00 (Europe/London) in <#C0MGRESC1>. "
        "First one Fri 9 Jan 17:00."
    )
    here = await command(slack, MANAGER, "digest weekly monday 09:00 here", channel=ESCALATIONS)
    assert "Digest #3" in here
    assert "in <#C0MGRESC1>. First one Mon 12 Jan 09:00." in here  # 09:00 today has come

    listing = await command(slack, MANAGER, "digest list")
    assert listing.splitlines() == [
        "*Scheduled digests:*",
        "#1 · every day at 10:00 → <#C0SALES01> · next Mon 5 Jan 10:00 · by <@U0MGR01>",
        "#2 · every Friday at 17:00 → <#C0MGRESC1> · next Fri 9 Jan 17:00 · by <@U0MGR01>",
        "#3 · every Monday at 09:00 → <#C0MGRESC1> · next Mon 12 Jan 09:00 · by <@U0MGR01>",
    ]

    assert await command(slack, MANAGER, "digest stop 1") == (
        "Stopped digest #1 (every day at 10:00 in <#C0SALES01>)."
    )
    assert "no active digest #1" in await command(slack, MANAGER, "digest stop 1")
    listing = await command(slack, MANAGER, "digest list")
    assert [line.split(" · ")[0] for line in listing.splitlines()[1:]] == ["#2", "#3"]

    stored = await stored_digests(bot.services.db)
    assert [(d.id, d.active, d.cadence, d.at_hour, d.weekday, d.channel_id) for d in stored] == [
        (1, False, "daily", 10, None, SALES),
        (2, True, "weekly", 17, 4, ESCALATIONS),
        (3, True, "weekly", 9, 0, ESCALATIONS),
    ]
    assert {(d.timezone, d.created_by) for d in stored} == {("Europe/London", MANAGER)}
    assert "`/leads digest daily 09:00 [#channel]`" in await command(slack, MANAGER, "help")


async def test_only_managers_may_use_digests(bot: RunningBot, slack: Sandbox) -> None:
    assert await command(slack, MANAGER, "digest daily 10:00") != REFUSAL
    for text in ("digest daily 09:00", "digest list", "digest stop 1", "digest", "digest nonsense"):
        assert await command(slack, ALICE, text) == REFUSAL
    assert [d.active for d in await stored_digests(bot.services.db)] == [True]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("digest", "Usage:"),
        ("digest hourly 09:00", "Usage:"),
        ("digest daily", "Usage:"),
        ("digest daily 25:00", "Can't read that time"),
        ("digest daily 09:30", "Can't read that time"),
        ("digest daily nine", "Can't read that time"),
        ("digest daily 09:00 #sales", "Name the channel as a mention"),
        ("digest daily 09:00 here now", "Usage:"),
        ("digest weekly funday 09:00", "Unknown weekday"),
        ("digest weekly mon", "Usage:"),
        ("digest weekly 09:00", "Unknown weekday"),
        ("digest list all", "Usage:"),
        ("digest stop", "Usage:"),
        ("digest stop first", "Usage:"),
        ("digest stop 99999999999999999999", "Usage:"),
        ("digest stop 1 2", "Usage:"),
        ("digest stop 42", "There is no active digest #42"),
    ],
)
async def test_bad_input_gets_a_short_usage_line(
    bot: RunningBot, slack: Sandbox, text: str, says: str
) -> None:
    answer = await command(slack, MANAGER, text)
    assert says in answer
    assert len(answer) < 400
    assert "Traceback" not in answer and "Error" not in answer
    assert await stored_digests(bot.services.db) == []


# ------------------------------------------------------------------------ the digest


async def test_a_due_digest_is_posted_once_with_the_period_counts(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    await command(slack, MANAGER, "digest daily 10:00 <#C0MGRESC1|sales-escalations>")
    # The first digest covers the day before it: Sunday 10:00 to Monday 10:00.
    await seed_events(
        bot.services.db,
        [
            ("captured", "new", monday(9, days=-1)),  # before the period
            ("captured", "new", monday(10, days=-1)),
            ("captured", "new", monday(8)),
            ("captured", "nurture", monday(8, 5)),
            ("offered", "offered", monday(8, 1)),  # not counted
            ("claimed", "claimed", monday(8, 2)),
            ("claimed", "claimed", monday(8, 3)),
            ("first_contact", None, monday(8, 4)),
            ("sla_met", None, monday(8, 4)),
            ("sla_missed", None, monday(8, 6)),
            ("sla_contact_late", None, monday(8, 9)),
            ("nurture", "nurture", monday(9)),
            ("won", "won", monday(9, 30)),
            ("lost", "lost", monday(9, 59)),
            ("won", "won", monday(10)),  # the moment it runs: the next digest's
        ],
    )
    clock.advance(minutes=59)
    assert await bot.services.digests.run_due() == 0  # 09:59: not yet

    clock.advance(minutes=1)
    [post] = await digest_posts(slack)
    assert post.args["channel"] == ESCALATIONS
    assert post.args["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Daily lead digest"},
    }
    assert period(post) == "Sun 4 Jan 10:00 → Mon 5 Jan 10:00 (Europe/London) · digest #1"
    assert fields(post) == {
        "Captured": "3",
        "Posted to queues": "2",
        "Nurtured": "2",
        "Claimed": "2",
        "First contacts": "1",
        "SLA met": "1 (50%)",
        "SLA missed": "1 (1 contacted late)",
        "Won": "1",
        "Lost": "1",
    }
    assert [m.ts for m in slack.messages(ESCALATIONS)] == [post.response["ts"]]

    assert await bot.services.digests.run_due() == 0  # taken: not again
    [digest] = await stored_digests(bot.services.db)
    assert digest.last_run_at == monday(10)
    assert digest.next_run_at == monday(10, days=1)
    [row] = await digest_rows(bot.services.db)
    assert row.status == "sent"


async def test_a_stopped_digest_is_not_sent(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    await command(slack, MANAGER, "digest daily 10:00")
    await command(slack, MANAGER, "digest stop 1")
    clock.advance(hours=2)
    assert await bot.services.digests.run_due() == 0
    assert await digest_rows(bot.services.db) == []


async def test_a_digest_due_while_the_bot_was_down_is_sent_once_on_start(
    database_url: str, slack: Sandbox, clock: FakeClock
) -> None:
    async with running_bot(database_url, slack.api_url, clock=clock) as first:
        slack.request_url = f"{first.url}/slack/events"
        await command(slack, MANAGER, "digest daily 10:00")
        clock.advance(hours=1)
        [monday_post] = await digest_posts(slack)
        assert fields(monday_post)["Captured"] == "0"

    # Down from Monday 10:00 until Thursday 11:00: Tuesday's, Wednesday's and
    # Thursday's runs were missed; one digest covers everything since Monday's.
    db = Database(database_url)
    try:
        await seed_events(
            db,
            [
                ("captured", "new", monday(9, 59)),  # before Monday's run: not in this one
                ("captured", "new", monday(12)),
                ("captured", "new", monday(12, days=1)),
                ("won", "won", monday(15, days=2)),
                ("captured", "new", monday(10, 30, days=3)),
            ],
        )
        async with db.transaction() as session:  # the harness makes a key per start
            await session.execute(delete(ApiKey))
    finally:
        await db.dispose()
    clock.advance(days=3, hours=1)

    async with running_bot(database_url, slack.api_url, clock=clock) as second:
        slack.request_url = f"{second.url}/slack/events"
        posts = await digest_posts(slack, count=2)
        assert await second.services.digests.run_due() == 0
        assert len(await digest_rows(second.services.db)) == 2
        [digest] = await stored_digests(second.services.db)
    assert len(posts) == 2
    catch_up = posts[1]
    assert period(catch_up) == "Mon 5 Jan 10:00 → Thu 8 Jan 11:00 (Europe/London) · digest #1"
    assert fields(catch_up)["Captured"] == "3"
    assert fields(catch_up)["Won"] == "1"
    assert digest.last_run_at == monday(11, days=3)
    assert digest.next_run_at == monday(10, days=4)  # Friday: the missed runs are skipped


async def test_two_replicas_take_each_due_digest_once(database_url: str, clock: FakeClock) -> None:
    """Replicas polling at the same moment: every due digest is enqueued exactly once."""
    replicas = [Database(database_url, pool_size=10) for _ in range(2)]
    try:
        first, second = (
            Digests(db, clock, lambda: None, [MANAGER], ZoneInfo("Europe/London"))
            for db in replicas
        )
        for hour in range(10, 22):
            await first.schedule(
                MANAGER, channel_id=SALES, cadence=Cadence.DAILY, hour=hour, weekday=None
            )
        clock.advance(days=1, hours=13)  # every one of them is due (Tuesday 22:00)
        taken = await asyncio.gather(*(r.run_due(limit=3) for r in (first, second) * 3))
        assert sum(taken) == 12
        rows = await digest_rows(replicas[0])
        assert sorted(int(r.payload["digest"]) for r in rows) == list(range(1, 13))
    finally:
        for db in replicas:
            await db.dispose()
