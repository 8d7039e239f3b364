"""Dedup end to end (issue 4, acceptance 3): the real bot, the sandbox as Slack.

The same person arriving twice, spelled two ways, is one lead and one card; the
card is updated and the merge is told in the card's thread (to the owner, once
someone has claimed it).
"""

from __future__ import annotations

import json

from sandbox import RecordedCall, Sandbox
from store.models import Lead
from tests.harness import RunningBot, card_lead_id, wait_for_card

SALES = "C0SALES01"
ALICE = "U0ALICE1"


async def capture(bot: RunningBot, body: dict[str, object], *, merged: bool = False) -> int:
    """POST a lead; the answer says whether it was merged into an open one."""
    status, created = await bot.post_lead(body)
    assert status == 201, created
    assert created["merged"] is merged, created
    return int(created["id"])


async def wait_for_note(slack: Sandbox, ts: str) -> RecordedCall:
    [note] = await slack.wait_for_call("chat.postMessage", lambda c: c.args.get("thread_ts") == ts)
    return note


def card_posts(slack: Sandbox) -> list[RecordedCall]:
    return [
        c
        for c in slack.calls
        if c.method == "chat.postMessage" and card_lead_id(c.args.get("metadata"))
    ]


async def test_same_person_twice_is_one_card_updated_and_told_in_its_thread(
    bot: RunningBot, slack: Sandbox
) -> None:
    lead_id = await capture(
        bot,
        {"email": "John.Doe@Example.com", "name": "John Doe", "answers": {"budget": "$10k"}},
    )
    card_ts = (await wait_for_card(slack, lead_id)).response["ts"]
    again = await capture(
        bot,
        {
            "email": "john.doe@example.com",
            "phone": "+44 20 7946 0958",
            "answers": {"budget": "$50k", "notes": "<!channel> call me"},
        },
        merged=True,
    )
    assert again == lead_id

    note = await wait_for_note(slack, card_ts)
    assert note.args["channel"] == SALES
    reply = slack.get_message(SALES, note.response["ts"])
    assert reply.thread_ts == card_ts and reply.metadata is None
    shown = json.dumps(reply.blocks, ensure_ascii=False)
    assert "came back (same email)" in shown and "$50k" in shown and "+44 20 7946 0958" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "<@" not in shown  # nobody has claimed it yet

    [update] = await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == card_ts)
    card = json.dumps(slack.get_message(SALES, card_ts).blocks, ensure_ascii=False)
    assert "$50k" in card and "+44 20 7946 0958" in card and "came back 1×" in card
    assert update.args["channel"] == SALES

    assert [card_lead_id(c.args.get("metadata")) for c in card_posts(slack)] == [str(lead_id)]
    assert [m.ts for m in slack.messages(SALES) if m.metadata] == [card_ts]
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None and lead.merged_count == 1


async def test_a_claimed_leads_owner_is_mentioned_when_the_person_returns_by_phone(
    bot: RunningBot, slack: Sandbox
) -> None:
    lead_id = await capture(bot, {"phone": "+44 20 7946 0958", "name": "Jo"})
    card_ts = (await wait_for_card(slack, lead_id)).response["ts"]
    await slack.click_button(ALICE, SALES, card_ts, "Claim")
    await slack.wait_for_call("chat.update", lambda c: c.args.get("ts") == card_ts)

    status, again = await bot.post_lead({"phone": "020 7946 0958", "email": "jo@example.com"})
    assert (status, again) == (201, {"id": lead_id, "state": "claimed", "merged": True})
    note = await wait_for_note(slack, card_ts)
    assert note.args["text"].startswith(f"<@{ALICE}> ")
    reply = slack.get_message(SALES, note.response["ts"])
    shown = json.dumps(reply.blocks, ensure_ascii=False)
    assert f"<@{ALICE}> *Jo* came back (same phone)" in shown and "jo@example.com" in shown
    assert len(card_posts(slack)) == 1
