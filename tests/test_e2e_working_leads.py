"""Routing, claiming and working a lead end to end (SPEC §5): the real bot, the sandbox as
Slack, every click, command and modal submission signed and sent over HTTP.

The bot runs on a fake clock with the example configuration's exclusivity windows,
so a test steps past a window instead of sleeping through it. Each test starts a
fresh bot, so its first lead in `sales` is offered to Alice, the first rep there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.models import Message
from store.models import Lead, LeadEvent
from tests.harness import RunningBot, running_bot, wait_for_card, with_slow_ladders

SALES, ENTERPRISE = "C0SALES01", "C0ENTPR01"
ALICE, BOB, CARMEN = "U0ALICE1", "U0BOB001", "U0CARMEN"
DEV, ERIN = "U0DEVPA1", "U0ERIN01"  # reps of `enterprise`, not of `sales`
MANAGER = "U0MGR01"
WORKSPACE_TZ = ZoneInfo("Europe/London")
OWNER_BUTTONS = ["Contacted", "Qualified", "Won", "Lost", "Nurture", "Release"]


@pytest.fixture
async def bot(database_url: str, slack: Sandbox, clock: FakeClock) -> AsyncIterator[RunningBot]:
    """The bot on a fake clock; its SLA ladders run in hours, so moving the clock by minutes
    to pass an exclusivity window fires no nag (the SLA has tests of its own)."""
    config = with_slow_ladders()
    async with running_bot(database_url, slack.api_url, clock=clock, config=config) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


@dataclass(frozen=True)
class Card:
    lead_id: int
    channel: str
    ts: str


async def new_lead(bot: RunningBot, slack: Sandbox, email: str, **body: Any) -> Card:
    """Post a lead through the API and wait for its card."""
    status, created = await bot.post_lead({"email": email, **body})
    assert status == 201, created
    call = await wait_for_card(slack, created["id"])
    return Card(created["id"], call.args["channel"], call.response["ts"])


def buttons(message: Message) -> list[str]:
    return [
        e["text"]["text"]
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def block_text(blocks: list[dict[str, Any]] | None, block_id: str) -> str:
    """The text of a section, or the texts of a context's elements joined by newlines."""
    for block in blocks or []:
        if block.get("block_id") == block_id:
            if block["type"] == "context":
                return "\n".join(e["text"] for e in block["elements"])
            return str(block["text"]["text"])
    return ""


def card_state(blocks: list[dict[str, Any]] | None) -> str:
    """The state the card's context line shows: "Lead #1 · captured … · contacted"."""
    parts = block_text(blocks, "lead_context").split("\n")[0].split(" · ")
    return parts[2] if len(parts) > 2 else ""


async def card_in_state(slack: Sandbox, card: Card, state: str) -> Message:
    """Wait until the bot has re-rendered `card` in `state`; the stored message."""
    await slack.wait_for_call(
        "chat.update",
        lambda c: c.args.get("ts") == card.ts and card_state(c.args.get("blocks")) == state,
    )
    return slack.get_message(card.channel, card.ts)


async def offer_dm(slack: Sandbox, rep: str, lead_id: int) -> Message:
    """Wait for the DM offering `lead_id` to `rep`; the message in their DM channel."""
    [call] = await slack.wait_for_call(
        "chat.postMessage",
        lambda c: (
            c.args.get("channel") == rep
            and str(c.args.get("text", "")).startswith(f"You're offered lead #{lead_id}:")
        ),
    )
    dm = slack.dm_channel_for(rep)
    assert dm is not None
    return slack.get_message(dm, call.response["ts"])


async def ephemeral_to(slack: Sandbox, user: str, count: int = 1) -> str:
    """The text of the `count`-th ephemeral the bot sent `user` (waiting for it)."""
    calls = await slack.wait_for_call(
        "chat.postEphemeral", lambda c: c.args.get("user") == user, count=count
    )
    return str(calls[count - 1].args["text"])


async def command_reply(slack: Sandbox, user: str, text: str) -> str:
    """Run `/leads text` as `user` in #sales; what Slack shows them (the ack, ephemerally)."""
    result = await slack.send_slash_command(user, SALES, text)
    assert result.status == 200
    return slack.ephemerals(SALES, user)[-1].text


async def stored(bot: RunningBot, lead_id: int) -> Lead:
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None
    return lead


async def events(bot: RunningBot, lead_id: int) -> list[LeadEvent]:
    async with bot.services.db.reading() as session:
        rows = await session.scalars(
            select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
        )
        return list(rows)


async def claimed_by_alice(bot: RunningBot, slack: Sandbox, email: str) -> Card:
    """A fresh bot's first lead, claimed by Alice (its offered rep) from the channel card."""
    card = await new_lead(bot, slack, email)
    await slack.click_button(ALICE, card.channel, card.ts, "Claim")
    message = await card_in_state(slack, card, "claimed")
    assert buttons(message) == OWNER_BUTTONS
    return card


# -- claiming: the offer and its exclusivity window (acceptance 4) --------------------------


async def test_only_the_offered_rep_may_claim_until_the_window_ends(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    card = await new_lead(bot, slack, "jane@initech.example", name="Jane Doe")
    assert card.channel == SALES
    dm = await offer_dm(slack, ALICE, card.lead_id)
    assert buttons(dm) == ["Claim"]
    assert "Only you can claim it until" in block_text(dm.blocks, "offer_intro")
    posted = slack.get_message(SALES, card.ts)
    assert block_text(posted.blocks, "lead_status").startswith(
        f":point_right: Offered to <@{ALICE}> — only they can claim it until <!date^"
    )

    clock.advance(30)
    await slack.click_button(BOB, SALES, card.ts, "Claim")
    assert await ephemeral_to(slack, BOB) == (
        f"This lead is offered to <@{ALICE}> for 1m 30s more (until 09:02:00 UTC); "
        "after that anyone in the queue can claim it."
    )
    lead = await stored(bot, card.lead_id)
    assert (lead.state, lead.owner_id, lead.offered_rep_id) == ("offered", None, ALICE)

    clock.advance(91)  # past the 120 s window
    slack.workspace.channels[SALES].members.append(DEV)  # in the channel, not in the queue
    await slack.click_button(DEV, SALES, card.ts, "Claim")
    assert await ephemeral_to(slack, DEV) == (
        "Only reps of this lead's queue (or a manager) can claim it."
    )
    # Erin reads #sales without having joined it: Slack only lets the click's
    # response_url (not chat.postEphemeral) show her the refusal.
    await slack.click_button(ERIN, SALES, card.ts, "Claim")
    await slack.wait_for_call("response_url")
    assert [m.text for m in slack.ephemerals(SALES, ERIN)] == [
        "Only reps of this lead's queue (or a manager) can claim it."
    ]
    await slack.click_button(BOB, SALES, card.ts, "Claim")
    claimed = await card_in_state(slack, card, "claimed")
    assert buttons(claimed) == OWNER_BUTTONS
    owner_line, sla_line = block_text(claimed.blocks, "lead_status").split("\n")
    assert owner_line == f":white_check_mark: Claimed by <@{BOB}> after 2m 01s"
    # The deadline in each reader's own time (this bot's ladders run in hours).
    assert sla_line.startswith(":stopwatch: First contact due by <!date^")
    lead = await stored(bot, card.lead_id)
    assert (lead.state, lead.owner_id) == ("claimed", BOB)
    assert [e.kind for e in await events(bot, card.lead_id)] == ["captured", "offered", "claimed"]


async def test_offered_rep_claims_from_the_dm_and_a_manager_claims_after_the_window(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    first = await new_lead(bot, slack, "first@initech.example")
    dm = await offer_dm(slack, ALICE, first.lead_id)
    await slack.click_button(ALICE, dm.channel, dm.ts, "Claim")
    assert "Claimed by <@U0ALICE1>" in block_text(
        (await card_in_state(slack, first, "claimed")).blocks, "lead_status"
    )

    second = await new_lead(bot, slack, "second@initech.example")
    await offer_dm(slack, BOB, second.lead_id)  # the rotation moved on
    await slack.click_button(MANAGER, SALES, second.ts, "Claim")
    assert (await ephemeral_to(slack, MANAGER)).startswith(f"This lead is offered to <@{BOB}>")
    clock.advance(121)
    await slack.click_button(MANAGER, SALES, second.ts, "Claim")
    await card_in_state(slack, second, "claimed")
    assert (await stored(bot, second.lead_id)).owner_id == MANAGER


# -- working the lead: every button (acceptance 5) ------------------------------------------


async def test_owner_works_the_lead_and_a_manager_marks_it_won(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    card = await claimed_by_alice(bot, slack, "work@initech.example")

    # Bob neither owns the lead nor manages: refused, and nothing changes.
    await slack.click_button(BOB, SALES, card.ts, "Won")
    assert await ephemeral_to(slack, BOB) == "Only the lead's owner or a manager can mark it won."
    assert (await stored(bot, card.lead_id)).state == "claimed"

    contacted_at = clock.advance(60)
    await slack.click_button(ALICE, SALES, card.ts, "Contacted")
    message = await card_in_state(slack, card, "contacted")
    assert buttons(message) == ["Qualified", "Won", "Lost", "Nurture", "Release"]
    assert "· *contacted*" in block_text(message.blocks, "lead_status")
    lead = await stored(bot, card.lead_id)
    assert lead.first_contact_at == contacted_at

    await slack.click_button(ALICE, SALES, card.ts, "Qualified")
    message = await card_in_state(slack, card, "qualified")
    assert buttons(message) == ["Won", "Lost", "Nurture", "Release"]

    await slack.click_button(MANAGER, SALES, card.ts, "Won")
    message = await card_in_state(slack, card, "won")
    assert buttons(message) == []
    assert block_text(message.blocks, "lead_status").split("\n") == [
        f":white_check_mark: Claimed by <@{ALICE}> after 0s · *won :tada:*",
        ":stopwatch: SLA met: first contact after 1m 00s",
    ]
    lead = await stored(bot, card.lead_id)
    assert (lead.state, lead.owner_id) == ("won", ALICE)
    history = [(e.kind, e.actor) for e in await events(bot, card.lead_id)]
    assert history == [
        ("captured", "api-key:1"),
        ("offered", "api-key:1"),
        ("claimed", ALICE),
        ("contacted", ALICE),
        ("first_contact", ALICE),
        ("sla_met", "sla"),  # contact well inside the five minutes
        ("qualified", ALICE),
        ("won", MANAGER),
    ]


async def test_lost_opens_a_modal_that_needs_a_reason(bot: RunningBot, slack: Sandbox) -> None:
    card = await claimed_by_alice(bot, slack, "lost@initech.example")

    await slack.click_button(BOB, SALES, card.ts, "Lost")
    assert await ephemeral_to(slack, BOB) == "Only the lead's owner or a manager can mark it lost."
    assert slack.open_views(BOB) == []

    await slack.click_button(ALICE, SALES, card.ts, "Lost")
    [opened] = await slack.wait_for_call("views.open")
    assert opened.response["ok"] is True
    [modal] = slack.open_views(ALICE)
    assert modal["callback_id"] == "lead_lost"

    no_reason = await slack.submit_view(ALICE, {})
    assert no_reason.outcome == "errors"
    assert no_reason.errors == {"lost_reason": "Pick why the lead was lost."}
    assert len(slack.open_views(ALICE)) == 1

    other = await slack.submit_view(ALICE, {"lost_reason": {"reason": "Other"}})
    assert other.outcome == "errors" and list(other.errors) == ["lost_details"]
    assert (await stored(bot, card.lead_id)).state == "claimed"

    done = await slack.submit_view(
        ALICE,
        {"lost_reason": {"reason": "Chose a competitor"}, "lost_details": {"text": "Globex"}},
    )
    assert done.outcome == "closed" and slack.open_views(ALICE) == []
    message = await card_in_state(slack, card, "lost")
    assert buttons(message) == []
    assert "*Reason:* Chose a competitor: Globex" in block_text(message.blocks, "lead_status")
    lead = await stored(bot, card.lead_id)
    assert (lead.state, lead.lost_reason) == ("lost", "Chose a competitor: Globex")
    assert (await events(bot, card.lead_id))[-1].reason == "Chose a competitor: Globex"


async def test_nurture_needs_a_follow_up_date_after_today(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    card = await claimed_by_alice(bot, slack, "later@initech.example")
    await slack.click_button(ALICE, SALES, card.ts, "Nurture")
    await slack.wait_for_call("views.open")
    assert [v["callback_id"] for v in slack.open_views(ALICE)] == ["lead_nurture"]

    today = clock.now().astimezone(WORKSPACE_TZ).date()
    for day, error in [
        (None, "Pick the date to follow up on."),
        (today - timedelta(days=1), "Pick a date after today."),
        (today, "Pick a date after today."),
        (today + timedelta(days=400), "Pick a date within the next year."),
    ]:
        values = {"follow_up": {"date": day.isoformat()}} if day else {}
        refused = await slack.submit_view(ALICE, values)
        assert (refused.outcome, refused.errors) == ("errors", {"follow_up": error}), day
    assert (await stored(bot, card.lead_id)).state == "claimed"

    follow_up = today + timedelta(days=14)
    done = await slack.submit_view(
        ALICE,
        {"follow_up": {"date": follow_up.isoformat()}, "nurture_note": {"text": "after budget"}},
    )
    assert done.outcome == "closed" and slack.open_views(ALICE) == []
    message = await card_in_state(slack, card, "nurture")
    assert buttons(message) == ["Contacted", "Qualified", "Won", "Lost", "Release"]
    at_nine = datetime.combine(follow_up, time(9, 0), tzinfo=WORKSPACE_TZ)
    assert f"*Follow up:* <!date^{int(at_nine.timestamp())}^{{date_short}}|" in block_text(
        message.blocks, "lead_status"
    )
    lead = await stored(bot, card.lead_id)
    assert lead.state == "nurture" and lead.follow_up_at == at_nine
    *_, nurtured, reminder = await events(bot, card.lead_id)
    assert (nurtured.kind, nurtured.reason) == ("nurture", "after budget")
    assert nurtured.data["follow_up"] == follow_up.isoformat()
    # The follow-up date becomes a reminder to the owner that morning.
    assert (reminder.kind, reminder.data["due"]) == ("reminder_set", at_nine.isoformat())


async def test_release_offers_the_lead_to_the_next_rep_not_the_releaser(
    bot: RunningBot, slack: Sandbox
) -> None:
    card = await claimed_by_alice(bot, slack, "again@initech.example")
    await slack.click_button(ALICE, SALES, card.ts, "Release")
    assert await ephemeral_to(slack, ALICE) == f"Released: the lead is offered to <@{BOB}>."
    message = await card_in_state(slack, card, "offered")
    assert buttons(message) == ["Claim"]
    assert f"Offered to <@{BOB}>" in block_text(message.blocks, "lead_status")
    assert "Passed over: Alice Johnson (released it)" in block_text(message.blocks, "lead_context")
    lead = await stored(bot, card.lead_id)
    assert (lead.state, lead.owner_id, lead.offered_rep_id) == ("offered", None, BOB)

    dm = await offer_dm(slack, BOB, card.lead_id)
    # The releaser is now just another rep inside Bob's window.
    await slack.click_button(ALICE, SALES, card.ts, "Claim")
    assert (await ephemeral_to(slack, ALICE, count=2)).startswith(
        f"This lead is offered to <@{BOB}>"
    )
    await slack.click_button(BOB, dm.channel, dm.ts, "Claim")
    await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == card.ts, count=3)
    assert (await stored(bot, card.lead_id)).owner_id == BOB


async def test_a_lead_released_when_nobody_else_is_available_opens_to_the_channel(
    bot: RunningBot, slack: Sandbox
) -> None:
    card = await claimed_by_alice(bot, slack, "alone@initech.example")
    for rep in (BOB, CARMEN):
        await command_reply(slack, rep, "away")
    await slack.click_button(ALICE, SALES, card.ts, "Release")
    assert await ephemeral_to(slack, ALICE) == "Released: the lead is offered to the whole channel."
    message = await card_in_state(slack, card, "new")
    assert buttons(message) == ["Claim"]
    assert "*open to anyone in this channel*" in block_text(message.blocks, "lead_status")
    lead = await stored(bot, card.lead_id)
    assert (lead.state, lead.owner_id, lead.offered_rep_id) == ("new", None, None)
    # Releasing passed Alice over for the offer, not for the lead: she may take it back.
    await slack.click_button(ALICE, SALES, card.ts, "Claim")
    await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == card.ts, count=3)
    assert (await stored(bot, card.lead_id)).owner_id == ALICE


# -- away and back ---------------------------------------------------------------------------


async def test_an_away_rep_is_passed_over_until_they_are_back(
    bot: RunningBot, slack: Sandbox
) -> None:
    assert (await command_reply(slack, ALICE, "away")).startswith(":palm_tree: You're away")
    assert (await command_reply(slack, ALICE, "away")).startswith("You were already away.")

    card = await new_lead(bot, slack, "one@initech.example")
    await offer_dm(slack, BOB, card.lead_id)
    posted = slack.get_message(SALES, card.ts)
    assert "Passed over: Alice Johnson (away)" in block_text(posted.blocks, "lead_context")
    passed = [e for e in await events(bot, card.lead_id) if e.kind == "passed"]
    assert [(e.data["rep"], e.reason) for e in passed] == [(ALICE, "away")]

    assert (await command_reply(slack, ALICE, "back")).startswith(":wave: Welcome back")
    later = [await new_lead(bot, slack, f"{n}@initech.example") for n in ("two", "three")]
    for lead in later:
        assert "Passed over" not in block_text(
            slack.get_message(SALES, lead.ts).blocks, "lead_context"
        )
    offered = [(await stored(bot, lead.lead_id)).offered_rep_id for lead in later]
    assert ALICE in offered, offered


async def test_leads_away_tells_non_reps_and_stray_words_apart(
    bot: RunningBot, slack: Sandbox
) -> None:
    assert await command_reply(slack, MANAGER, "away") == (
        "You're not a rep in any leadbot queue, so there is nothing to change."
    )
    assert await command_reply(slack, ALICE, "away extra") == (
        "Usage: `/leads away` (no arguments)."
    )
    card = await new_lead(bot, slack, "still@initech.example")
    await offer_dm(slack, ALICE, card.lead_id)  # the stray word changed nothing


async def test_a_lead_nobody_can_take_is_open_to_the_whole_queue_at_once(
    bot: RunningBot, slack: Sandbox
) -> None:
    for rep in (ALICE, BOB, CARMEN):
        await command_reply(slack, rep, "away")
    card = await new_lead(bot, slack, "orphan@initech.example")
    posted = slack.get_message(SALES, card.ts)
    assert buttons(posted) == ["Claim"]
    assert "*open to anyone in this channel*" in block_text(posted.blocks, "lead_status")
    assert "Passed over: Alice Johnson (away), Bob Okafor (away), Carmen Ruiz (away)" in block_text(
        posted.blocks, "lead_context"
    )
    lead = await stored(bot, card.lead_id)
    assert (lead.state, lead.offered_rep_id, lead.exclusive_until) == ("new", None, None)
    assert "opened" in [e.kind for e in await events(bot, card.lead_id)]

    await slack.click_button(CARMEN, SALES, card.ts, "Claim")  # no window, no clock step
    await card_in_state(slack, card, "claimed")
    assert (await stored(bot, card.lead_id)).owner_id == CARMEN


# -- routing ---------------------------------------------------------------------------------


async def test_a_large_company_goes_to_the_enterprise_queue_and_the_card_says_why(
    bot: RunningBot, slack: Sandbox
) -> None:
    big = await new_lead(bot, slack, "cio@megacorp.example", answers={"company_size": 800})
    assert big.channel == ENTERPRISE
    card = slack.get_message(ENTERPRISE, big.ts)
    assert "Routed: rule “enterprise”: company_size ≥ 500" in block_text(
        card.blocks, "lead_context"
    )
    [fields] = [b["fields"] for b in card.blocks or [] if b.get("block_id") == "lead_fields"]
    assert {"type": "mrkdwn", "text": "*Queue*\nEnterprise"} in fields
    await offer_dm(slack, DEV, big.lead_id)

    small = await new_lead(bot, slack, "owner@smallco.example", answers={"company_size": 20})
    assert small.channel == SALES
    assert "Routed: default queue (no rule matched)" in block_text(
        slack.get_message(SALES, small.ts).blocks, "lead_context"
    )


# -- follow-up reminders (issue 6) -------------------------------------------------------


async def test_leads_remind_sets_a_reminder_the_owner_gets_as_a_dm_with_the_card(
    bot: RunningBot, slack: Sandbox, clock: FakeClock
) -> None:
    card = await claimed_by_alice(bot, slack, "remind@initech.example")
    assert (await command_reply(slack, ALICE, "remind")).startswith("Usage: `/leads remind")
    assert "`abc` is not a lead number" in await command_reply(slack, ALICE, "remind abc 2h")
    assert "can't read `soon`" in await command_reply(slack, ALICE, f"remind {card.lead_id} soon")
    refused = await command_reply(slack, BOB, f"remind {card.lead_id} 2h")
    assert "Only the lead's owner or a manager" in refused
    answer = await command_reply(slack, ALICE, f"remind #{card.lead_id} 2h call them back")
    assert answer.startswith(
        f":alarm_clock: I'll remind the owner of lead #{card.lead_id} on <!date^"
    )

    clock.advance(2 * 3600)
    [call] = await slack.wait_for_call(
        "chat.postMessage",
        lambda c: (
            c.args.get("channel") == ALICE
            and "Follow-up reminder: call them back" in str(c.args.get("blocks"))
        ),
        timeout=15,
    )
    dm = slack.get_message(slack.dm_channel_for(ALICE) or "", call.response["ts"])
    assert buttons(dm) == OWNER_BUTTONS  # the card, to work the lead from the DM
