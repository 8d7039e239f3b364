"""The SLA ladder end to end (SPEC §6, issue 6 acceptance 2): the real bot on the real clock,
the sandbox as Slack, the ladder shortened to seconds.

An unclaimed lead climbs the whole ladder: its offered rep is nagged, the next rep is offered
it, the channel is told with `<!here>`, and the managers' escalation channel hears of the miss,
each once and in that order. A lead claimed after the first nag skips the rest of the unclaimed
steps; its owner is nagged instead, and a first contact before the deadline meets the SLA.

The tests wait on recorded Slack calls, never for a deadline to pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox import Sandbox
from tests.harness import (
    RunningBot,
    outbox_drained,
    posts,
    running_bot,
    sla_steps,
    timer_rows,
    wait_for_card,
    with_ladder,
)
from tests.test_crash_recovery import until

SALES, ESCALATION = "C0SALES01", "C0MGRESC1"
ALICE, BOB = "U0ALICE1", "U0BOB001"  # the first two reps of `sales`, offered in that order


def ladder(*after: str) -> list[tuple[str, str, str]]:
    """SPEC §6's ladder with these five offsets."""
    rungs = [
        ("unclaimed", "dm_offered_rep"),
        ("unclaimed", "reoffer"),
        ("unclaimed", "open_to_channel"),
        ("claimed_no_contact", "dm_owner"),
        ("no_contact", "mark_missed"),
    ]
    return [(a, i, t) for a, (i, t) in zip(after, rungs, strict=True)]


@pytest.fixture
async def bot(
    request: pytest.FixtureRequest, database_url: str, slack: Sandbox
) -> AsyncIterator[RunningBot]:
    """The bot on the real clock with the ladder `request.param` on every queue."""
    config = with_ladder(ladder(*request.param))
    async with running_bot(database_url, slack.api_url, config=config) as running:
        slack.request_url = f"{running.url}/slack/events"
        yield running


def section_text(blocks: Any, block_id: str) -> str:
    for block in blocks or []:
        if block.get("block_id") == block_id:
            return str(block["text"]["text"])
    return ""


def buttons(blocks: Any) -> list[str]:
    return [
        e["text"]["text"] for b in blocks or [] if b.get("type") == "actions" for e in b["elements"]
    ]


async def card_update(slack: Sandbox, ts: str, status: str, within: float = 10.0) -> Any:
    """Wait until the card at `ts` is re-rendered with `status` in its status block; its blocks."""
    calls = await slack.wait_for_call(
        "chat.update",
        lambda c: (
            c.args.get("ts") == ts and status in section_text(c.args["blocks"], "lead_status")
        ),
        timeout=within,
    )
    return calls[-1].args["blocks"]


async def new_lead(bot: RunningBot, slack: Sandbox, email: str) -> tuple[int, str]:
    """An API lead (it scores SQL, so it is offered to Alice); its id and card ts."""
    status, created = await bot.post_lead({"email": email, "name": "Jane Doe"})
    assert status == 201, created
    card = await wait_for_card(slack, created["id"])
    return int(created["id"]), str(card.response["ts"])


async def drained(bot: RunningBot) -> None:
    """Wait until every outbox row is delivered: no Slack call is still to come."""
    await until(lambda: outbox_drained(bot.services.db), within=5, what="the outbox to drain")


@pytest.mark.parametrize("bot", [("1s", "2s", "3s", "4s", "5s")], indirect=True)
async def test_an_unclaimed_lead_is_nagged_reoffered_opened_and_escalated_once_each_in_order(
    bot: RunningBot, slack: Sandbox
) -> None:
    lead_id, ts = await new_lead(bot, slack, "waiting@initech.example")
    escalation = await slack.wait_for_call(
        "chat.postMessage", lambda c: c.args.get("channel") == ESCALATION, timeout=10
    )
    blocks = await card_update(slack, ts, "SLA missed")
    assert section_text(blocks, "lead_status").endswith(
        ":warning: *SLA missed*: no first contact in time"
    )
    await drained(bot)

    # The card and the first offer go out together (to two channels, in either order);
    # then the ladder's calls, one per step, in the order of the steps.
    sent = sorted(posts(slack)[:2]) + posts(slack)[2:]
    assert [channel for channel, _ in sent] == [SALES, ALICE, ALICE, BOB, SALES, ESCALATION]
    card, offer_alice, nag, offer_bob, here, missed = sent
    assert card[1] == f"New lead #{lead_id}: Jane Doe"
    assert offer_alice[1].startswith(f"You're offered lead #{lead_id}:")
    assert nag[1].startswith(f"Lead #{lead_id}: Lead waiting for you: ")
    assert nag[1].endswith("left to respond. Claim it before it moves on.")
    assert offer_bob[1].startswith(f"You're offered lead #{lead_id}:")
    assert here[1] == f"Lead #{lead_id} open to anyone"
    assert missed[1] == f"SLA missed: lead #{lead_id}"

    calls = slack.log.matching("chat.postMessage")
    assert buttons(calls[3].args["blocks"]) == ["Claim"]  # Bob's offer carries the card
    here_blocks = calls[4].args["blocks"]
    assert section_text(here_blocks, "sla_notice").startswith("<!here> ")
    assert buttons(here_blocks) == ["Claim"]
    line = section_text(escalation[0].args["blocks"], "sla_notice")
    assert f"(lead #{lead_id}) in *Inbound sales*, offered to <@{BOB}>." in line

    # Every step came due once; the DM to the owner found no owner and did nothing.
    assert [(step, status) for step, status, _ in await timer_rows(bot.services.db, lead_id)] == [
        (0, "fired"),
        (1, "fired"),
        (2, "fired"),
        (3, "fired"),
        (4, "fired"),
    ]
    acted = await sla_steps(bot.services.db, lead_id)
    assert [(s["step"], s["action"]) for s in acted] == [
        (0, "dm_offered_rep"),
        (1, "reoffer"),
        (2, "open_to_channel"),
        (4, "mark_missed"),
    ]
    assert all(0 <= s["late_seconds"] < 2 for s in acted)  # SPEC §6: within 2 s of due


@pytest.mark.parametrize("bot", [("1s", "3s", "4s", "5s", "8s")], indirect=True)
async def test_a_lead_claimed_after_the_first_nag_is_nagged_to_its_owner_and_meets_the_sla(
    bot: RunningBot, slack: Sandbox
) -> None:
    lead_id, ts = await new_lead(bot, slack, "claimed@initech.example")
    await slack.wait_for_call(
        "chat.postMessage", lambda c: "Lead waiting for you" in c.args["text"]
    )
    await slack.click_button(ALICE, SALES, ts, "Claim")
    await card_update(slack, ts, "Claimed by")
    owner_nag = await slack.wait_for_call(
        "chat.postMessage",
        lambda c: "Your lead has no first contact yet" in c.args["text"],
        timeout=10,
    )
    assert owner_nag[0].args["channel"] == ALICE
    assert buttons(owner_nag[0].args["blocks"])[0] == "Contacted"  # the owner's card

    await slack.click_button(ALICE, SALES, ts, "Contacted")
    blocks = await card_update(slack, ts, "SLA met")
    assert ":stopwatch: SLA met: first contact after " in section_text(blocks, "lead_status")
    # The contact cancelled the miss: no escalation can come, whatever the wait.
    assert [(step, status) for step, status, _ in await timer_rows(bot.services.db, lead_id)] == [
        (0, "fired"),
        (1, "cancelled"),
        (2, "cancelled"),
        (3, "fired"),
        (4, "cancelled"),
    ]
    await drained(bot)
    # No re-offer to Bob, no call to the channel, no escalation: only Alice heard of it.
    sent = sorted(posts(slack)[:2]) + posts(slack)[2:]
    assert [channel for channel, _ in sent] == [SALES, ALICE, ALICE, ALICE]
    assert sent[2][1].startswith(f"Lead #{lead_id}: Lead waiting for you: ")
    assert sent[3][1].startswith(f"Lead #{lead_id}: Your lead has no first contact yet, ")
    acted = await sla_steps(bot.services.db, lead_id)
    assert [(s["step"], s["action"]) for s in acted] == [(0, "dm_offered_rep"), (3, "dm_owner")]
