"""`/leads report|funnel|sources|reps|cost` end to end: signed slash commands through the
sandbox, the real bot on a fake clock, leads worked with the card's buttons.

The story (Monday 5 January 2026, from 09:00 UTC = London time):
- lead A (google-ads): offered to Alice, claimed at once, Contacted after 1 min,
  Qualified, then Won by a manager;
- lead B (linkedin): offered to Bob, claimed after 2 min, Released, re-offered to Carmen,
  claimed by her 1 min later, Contacted after 4 min more (6 min after posting: SLA missed);
- lead C (no source): offered to Alice (everyone has had one; she waited longest), never
  claimed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from sandbox import Sandbox
from store.models import LeadFact, SourceCost
from tests.blocks import text_objects
from tests.harness import RunningBot, running_bot, wait_for_card, with_ladder

SALES = "C0SALES01"
MANAGER, ALICE, BOB, CARMEN = "U0MGR01", "U0ALICE1", "U0BOB001", "U0CARMEN"


@pytest.fixture
async def bot(database_url: str, slack: Sandbox, clock: FakeClock) -> AsyncIterator[RunningBot]:
    # Only the five-minute mark: no nag or re-offer changes the story as the clock moves.
    config = with_ladder([("5m", "no_contact", "mark_missed")])
    async with running_bot(database_url, slack.api_url, clock=clock, config=config) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


async def answer(slack: Sandbox, user: str, text: str, channel: str = SALES) -> Any:
    """Run `/leads text`; the message Slack shows the user (the ack, or the later
    response_url answer when the ack is empty)."""
    before = len(slack.ephemerals(channel, user))
    result = await slack.send_slash_command(user, channel, text)
    assert result.status == 200, result
    for _ in range(500):
        shown = slack.ephemerals(channel, user)
        if len(shown) > before:
            assert len(shown) == before + 1
            return shown[-1]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no answer to /leads {text}")


def text_of(message: Any) -> str:
    if message.blocks:
        return "\n".join(text for _kind, text in text_objects(message.blocks))
    return str(message.text)


def table(message: Any) -> dict[str, list[str]]:
    """The rows of the code-block tables in a reply, by their first cell."""
    rows: dict[str, list[str]] = {}
    for block in re.findall(r"```\n(.*?)\n```", text_of(message), re.S):
        for line in block.splitlines():
            cells = re.split(r"\s{2,}", line.strip())
            rows[cells[0]] = cells[1:]
    return rows


async def lead(bot: RunningBot, slack: Sandbox, email: str, **body: Any) -> tuple[int, str]:
    status, created = await bot.post_lead({"email": email, **body})
    assert status == 201, created
    call = await wait_for_card(slack, created["id"])
    return created["id"], call.response["ts"]


async def state_is(bot: RunningBot, lead_id: int, state: str) -> None:
    from store.models import Lead

    for _ in range(300):
        async with bot.services.db.reading() as session:
            found = await session.get(Lead, lead_id)
        if found is not None and found.state == state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"lead {lead_id} never reached {state}")


async def click(
    bot: RunningBot, slack: Sandbox, user: str, ts: str, label: str, lead_id: int, state: str
) -> None:
    """Click `label` once the card shows it (cards re-render through the outbox), then wait
    for the lead to reach `state`."""
    for _ in range(500):
        message = slack.get_message(SALES, ts)
        shown = [
            e["text"]["text"]
            for b in message.blocks or []
            for e in b.get("elements") or []
            if isinstance(e, dict) and e.get("type") == "button"
        ]
        if label in shown:
            break
        await asyncio.sleep(0.01)
    await slack.click_button(user, SALES, ts, label)
    await state_is(bot, lead_id, state)


@pytest.fixture
async def story(bot: RunningBot, slack: Sandbox, clock: FakeClock) -> dict[str, int]:
    a, a_ts = await lead(bot, slack, "ann@initech.example", source="google-ads", name="Ann")
    await click(bot, slack, ALICE, a_ts, "Claim", a, "claimed")
    clock.advance(60)
    await click(bot, slack, ALICE, a_ts, "Contacted", a, "contacted")
    await click(bot, slack, ALICE, a_ts, "Qualified", a, "qualified")
    await click(bot, slack, MANAGER, a_ts, "Won", a, "won")

    b, b_ts = await lead(bot, slack, "ben@globex.example", source="linkedin", name="Ben")
    clock.advance(120)
    await click(bot, slack, BOB, b_ts, "Claim", b, "claimed")
    await click(bot, slack, BOB, b_ts, "Release", b, "offered")
    clock.advance(60)
    await click(bot, slack, CARMEN, b_ts, "Claim", b, "claimed")
    clock.advance(240)
    await click(bot, slack, CARMEN, b_ts, "Contacted", b, "contacted")

    c, _ = await lead(bot, slack, "cy@umbrella.example", name="Cy")
    return {"a": a, "b": b, "c": c}


async def test_report_counts_the_story(story: dict[str, int], slack: Sandbox) -> None:
    shown = await answer(slack, MANAGER, "report today")
    text = text_of(shown)
    assert "Lead report — today" in text
    fields = dict(re.findall(r"\*([^*]+)\*\n([^\n]+)", text))
    assert fields["Captured"] == "3"
    assert fields["Won"] == "1"
    assert fields["Conversion (won / captured)"] == "33.3%"
    assert fields["SLA met"] == "50.0% (1 of 2)"  # A met at 1 min, B missed at 7 min
    assert fields["Posted, never contacted"] == "1"  # C
    rows = table(shown)
    # Time to claim from posting: A 0s, B 2m (Bob's claim, the first) → median 0s, p90 2m.
    assert rows["Time to claim"] == ["0s", "2m 00s", "2"]
    # First contact: A 1m, B 7m (2 + 1 + 4 minutes after posting).
    assert rows["Time to first contact"] == ["1m 00s", "7m 00s", "2"]
    assert rows["in business hours"] == ["1m 00s", "7m 00s", "2"]  # always-open queue


async def test_funnel_reports_each_step_and_sends_its_chart(
    story: dict[str, int], slack: Sandbox
) -> None:
    shown = await answer(slack, MANAGER, "funnel today")
    assert "The chart is in your DM with leadbot." in text_of(shown)
    [chart] = [f for f in slack.files() if f.name == "funnel-today.png"]
    assert chart.content.startswith(b"\x89PNG\r\n\x1a\n") and len(chart.content) > 5000
    assert [share.channel_id for share in chart.shares] == [slack.dm_channel_for(MANAGER)]
    rows = table(shown)
    assert rows["Captured"][:1] == ["3"]
    assert rows["Posted to a queue"][:1] == ["3"]
    assert rows["Claimed"] == ["2", "66.7%", "66.7%"]
    assert rows["Contacted"] == ["2", "100.0%", "66.7%"]
    assert rows["Qualified"] == ["1", "50.0%", "33.3%"]
    assert rows["Won"] == ["1", "100.0%", "33.3%"]


async def test_sources_with_cost_per_conversion(
    story: dict[str, int], slack: Sandbox, bot: RunningBot
) -> None:
    said = text_of(await answer(slack, MANAGER, "cost google-ads $1,200.50 today"))
    assert "Recorded 1,200.50 on `google-ads`" in said
    said = text_of(await answer(slack, MANAGER, "cost google-ads 300 today"))
    assert "Replaced the spend 300.00" in said
    async with bot.services.db.reading() as session:
        amounts = list(await session.scalars(select(SourceCost.amount)))
    assert amounts == [Decimal("300.00")]
    rows = table(await answer(slack, MANAGER, "sources today"))
    # The cost covers the whole day and the report's "today" runs to now: prorated.
    google = rows["google-ads"]
    assert google[:5] == ["1", "100.0%", "1", "100.0%", google[4]]
    assert Decimal(google[4].replace(",", "")) == Decimal(google[5].replace(",", ""))
    assert Decimal(google[4]) < Decimal("300")
    assert rows["linkedin"][:4] == ["1", "100.0%", "0", "0.0%"]
    assert rows["(none)"][0] == "1"


async def test_reps_per_rep(story: dict[str, int], slack: Sandbox) -> None:
    rows = table(await answer(slack, MANAGER, "reps today"))
    # Rep, Offered, Claimed, Median resp., (business), SLA miss, Won
    assert rows["Alice Johnson"] == ["2", "1", "1m 00s", "1m 00s", "0", "1"]
    assert rows["Bob Okafor"] == ["1", "1", "–", "–", "0", "0"]
    # Carmen was offered B after Bob released it; she contacted it 7 min after posting.
    assert rows["Carmen Ruiz"] == ["1", "1", "7m 00s", "7m 00s", "1", "0"]


async def test_a_report_counts_events_written_just_before_it(
    bot: RunningBot, slack: Sandbox
) -> None:
    await lead(bot, slack, "first@initech.example")
    fields = dict(
        re.findall(r"\*([^*]+)\*\n([^\n]+)", text_of(await answer(slack, MANAGER, "report")))
    )
    assert fields["Captured"] == "1"
    await lead(bot, slack, "second@initech.example")
    fields = dict(
        re.findall(r"\*([^*]+)\*\n([^\n]+)", text_of(await answer(slack, MANAGER, "report")))
    )
    assert fields["Captured"] == "2"  # caught up before reading, not waiting for the job
    async with bot.services.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(LeadFact)) == 2


async def test_an_empty_period_reports_zeros_and_dashes(bot: RunningBot, slack: Sandbox) -> None:
    text = text_of(await answer(slack, MANAGER, "report yesterday"))
    assert "*Captured*\n0" in text and "*Conversion (won / captured)*\n–" in text
    assert "No leads were captured" in text_of(await answer(slack, MANAGER, "sources 7d"))
    assert "No rep touched" in text_of(await answer(slack, MANAGER, "reps 7d"))


@pytest.mark.parametrize("sub", ["report", "funnel", "sources", "reps", "cost"])
async def test_reports_are_for_managers(bot: RunningBot, slack: Sandbox, sub: str) -> None:
    said = text_of(await answer(slack, ALICE, f"{sub} 7d"))
    assert said == f":no_entry: `/leads {sub}` is for managers only."


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("report lastweek", "is not a period"),
        ("report 7d 30d", "Usage: `/leads report [period]`"),
        ("funnel 0d", "must be 1 to"),
        ("sources 2026-02-30..2026-03-01", "is not a date"),
        ("reps 2026-03-01..2026-02-01", "first date is after the last"),
        ("cost", "Usage: `/leads cost SOURCE AMOUNT [period]`"),
        ("cost google-ads", "Usage: `/leads cost"),
        ("cost google-ads lots", "is not an amount"),
        ("cost google-ads -5", "is not an amount"),
        ("cost google-ads 99999999999999", "is not an amount"),
        ("cost google-ads 10 yesteryear", "is not a period"),
        ("cost a b c d", "Usage: `/leads cost"),
        ("reportz", "Unknown subcommand `reportz`"),
    ],
)
async def test_bad_arguments_get_a_short_usage_line(
    bot: RunningBot, slack: Sandbox, text: str, says: str
) -> None:
    said = text_of(await answer(slack, MANAGER, text))
    assert says in said and "Traceback" not in said and len(said) < 600
    async with bot.services.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(SourceCost)) == 0


async def test_help_lists_every_subcommand(bot: RunningBot, slack: Sandbox) -> None:
    said = text_of(await answer(slack, ALICE, "help"))
    subcommands = ("report", "funnel", "sources", "cost", "reps", "find", "export", "queue")
    subcommands += ("away", "back", "remind", "digest", "forget")
    for sub in subcommands:
        assert f"`/leads {sub}" in said, sub
    assert "Periods: `today`, `yesterday`, `7d`, `30d`" in said


async def test_funnel_numbers_still_arrive_when_the_chart_upload_fails(
    bot: RunningBot, slack: Sandbox
) -> None:
    slack.set_fault("upload_url", status=503)
    try:
        shown = await answer(slack, MANAGER, "funnel 7d")
    finally:
        slack.clear_faults()
    said = text_of(shown)
    assert "The chart could not be uploaded to Slack" in said
    assert "Captured" in table(shown)
    assert slack.files() == []


async def test_a_source_from_a_prospect_is_escaped_in_the_table(
    bot: RunningBot, slack: Sandbox
) -> None:
    await lead(bot, slack, "esc@initech.example", source="<!channel> `x` & co")
    said = text_of(await answer(slack, MANAGER, "sources 7d"))
    assert "<!channel>" not in said and "`x`" not in said
    assert "&lt;!channel&gt; 'x' &amp; co" in said
    # Padded before escaping: the row's columns line up with the header's.
    [block] = re.findall(r"```\n(.*?)\n```", said, re.S)
    header, row = block.splitlines()[:2]
    plain = row.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert len(plain) == len(header)
