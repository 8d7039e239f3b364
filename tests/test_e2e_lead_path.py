"""The walking skeleton end to end: real HTTP, real signatures, the sandbox as Slack.

API lead in → one card posted → claimed by a signed click → card updated in
place → the other clicker told who won.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from sandbox import Sandbox
from store.models import Lead, LeadEvent
from tests.blocks import text_objects
from tests.harness import RunningBot, running_bot, wait_for_card, without_exclusivity

SALES = "C0SALES01"


@pytest.fixture
async def bot(database_url: str, slack: Sandbox) -> AsyncIterator[RunningBot]:
    """The bot with no exclusivity window: these tests race reps for an open lead."""
    async with running_bot(database_url, slack.api_url, config=without_exclusivity()) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


ALICE, BOB, CARMEN = "U0ALICE1", "U0BOB001", "U0CARMEN"


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def post_card(bot: RunningBot, slack: Sandbox, body: dict[str, Any]) -> tuple[int, str]:
    status, created = await bot.post_lead(body)
    assert status == 201, created
    call = await wait_for_card(slack, created["id"])
    return created["id"], call.response["ts"]


async def test_lead_in_card_out_claimed_updated_and_second_claimer_refused(
    bot: RunningBot, slack: Sandbox
) -> None:
    lead_id, ts = await post_card(
        bot,
        slack,
        {
            "name": "Jane Doe",
            "email": "jane@example.com",
            "company": "Initech",
            "answers": {"budget": "$50k+"},
        },
    )
    card = slack.get_message(SALES, ts)
    assert card.metadata == {
        "event_type": "leadbot_lead",
        "event_payload": {"lead_id": str(lead_id)},
    }
    assert card.bot_id is not None and buttons(card.blocks) == ["Claim"]
    assert "Jane Doe" in json.dumps(card.blocks)

    # Alice and Bob click the same card at once: exactly one of them gets it.
    alice_click, bob_click = await asyncio.gather(
        slack.click_button(ALICE, SALES, ts, "Claim"), slack.click_button(BOB, SALES, ts, "Claim")
    )
    assert alice_click.status == bob_click.status == 200
    assert max(alice_click.elapsed, bob_click.elapsed) < 3.0

    [update] = await slack.wait_for_call("chat.update")
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, lead_id)
        claims = await session.scalar(
            select(func.count()).select_from(LeadEvent).where(LeadEvent.kind == "claimed")
        )
    assert lead is not None and lead.owner_id in (ALICE, BOB) and claims == 1
    winner, loser = lead.owner_id, BOB if lead.owner_id == ALICE else ALICE
    assert update.args["ts"] == ts and update.args["channel"] == SALES

    updated = slack.get_message(SALES, ts)
    assert buttons(updated.blocks) == [
        "Contacted",
        "Qualified",
        "Won",
        "Lost",
        "Nurture",
        "Release",
    ]
    assert f"Claimed by <@{winner}> after" in json.dumps(updated.blocks)
    [refusal] = await slack.wait_for_call(
        "chat.postEphemeral", lambda c: c.args.get("user") == loser
    )
    assert refusal.args["text"] == f"Already claimed by <@{winner}>."

    # One card for the lead, however many clicks.
    cards = [m for m in slack.messages(SALES) if m.metadata]
    assert [m.ts for m in cards] == [ts]


async def test_prospect_text_is_escaped_in_the_posted_blocks(
    bot: RunningBot, slack: Sandbox
) -> None:
    hostile = "<!channel> call <@U123> <https://evil|click> & co"
    _, ts = await post_card(
        bot,
        slack,
        {
            "email": "x@example.com",
            "name": hostile,
            "company": hostile,
            "source": hostile,
            "answers": {"notes": hostile},
        },
    )
    [call] = [
        c for c in slack.calls if c.method == "chat.postMessage" and c.response.get("ts") == ts
    ]
    raw_blocks = json.dumps(call.args["blocks"])
    mrkdwn = [t for t in text_objects(call.args["blocks"]) if t[0] == "mrkdwn"] + [
        ("text", call.args["text"])
    ]
    for _, text in mrkdwn:
        for raw in ("<!channel>", "<@U123>", "<https://evil|click>"):
            assert raw not in text
    assert "&lt;!channel&gt;" in raw_blocks and "&lt;@U123&gt;" in raw_blocks
    assert "&lt;https://evil|click&gt;" in raw_blocks and "&amp; co" in raw_blocks


def click_body(lead_id: int, user: str, ts: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "mallory", "name": "mallory", "team_id": "T0001"},
        "api_app_id": "A0SANDBOX",
        "token": "x",
        "trigger_id": "1.2.3",
        "team": {"id": "T0001", "domain": "acme"},
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": SALES,
            "is_ephemeral": False,
        },
        "channel": {"id": SALES, "name": "sales"},
        "actions": [
            {
                "type": "button",
                "action_id": "lead_claim",
                "block_id": "lead_actions",
                "value": str(lead_id),
                "text": {"type": "plain_text", "text": "Claim"},
                "action_ts": str(time.time()),
            }
        ],
        "response_url": "http://127.0.0.1:9/none",
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize(
    "forge",
    ["wrong-secret", "stale-timestamp", "future-timestamp", "tampered-body", "no-signature"],
)
async def test_forged_or_stale_slack_requests_get_401_and_change_nothing(
    bot: RunningBot, slack: Sandbox, forge: str
) -> None:
    lead_id, ts = await post_card(bot, slack, {"email": "target@example.com"})
    body = click_body(lead_id, CARMEN, ts)
    now = int(time.time())
    if forge == "wrong-secret":
        headers = slack.sign(body, secret="not-the-secret")
    elif forge == "stale-timestamp":
        headers = slack.sign(body, timestamp=now - 301)
    elif forge == "future-timestamp":
        headers = slack.sign(body, timestamp=now + 600)
    elif forge == "tampered-body":
        headers = slack.sign(click_body(lead_id, "U0OTHER1", ts))
    else:
        headers = {}
    result = await slack.send_raw(body, headers, content_type="application/x-www-form-urlencoded")
    assert result.status == 401
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, lead_id)
        claims = await session.scalar(
            select(func.count()).select_from(LeadEvent).where(LeadEvent.kind == "claimed")
        )
    assert lead is not None and lead.owner_id is None and lead.state == "offered" and claims == 0


async def test_correctly_signed_raw_click_is_accepted(bot: RunningBot, slack: Sandbox) -> None:
    """The forged-request test above fails for the right reason: the same body, signed, works."""
    lead_id, ts = await post_card(bot, slack, {"email": "target@example.com"})
    body = click_body(lead_id, CARMEN, ts)
    result = await slack.send_raw(
        body, slack.sign(body), content_type="application/x-www-form-urlencoded"
    )
    assert result.status == 200
    await slack.wait_for_call("chat.update")
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None and lead.owner_id == CARMEN


async def test_url_verification_and_help_command(bot: RunningBot, slack: Sandbox) -> None:
    result = await slack.send_url_verification("challenge-xyz")
    assert result.status == 200 and json.loads(result.body) == {"challenge": "challenge-xyz"}
    help_result = await slack.send_slash_command(ALICE, SALES, "help")
    assert help_result.status == 200 and "/leads help" in help_result.body
    unknown = await slack.send_slash_command(ALICE, SALES, "<!channel> frobnicate")
    assert (
        unknown.status == 200
        and "Unknown subcommand" in unknown.body
        and "<!channel>" not in unknown.body
    )
