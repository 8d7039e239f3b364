"""Card rendering: escaping of prospect text and Block Kit limits, from the stored lead alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.lead import LeadSnapshot, LeadState, format_duration
from handlers.cards import escape_mrkdwn, render_lead_card, safe_mrkdwn
from handlers.relay_messages import render_visitor_message
from sandbox import validate_blocks
from tests.blocks import text_objects

CAPTURED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> hi <@U123> see <https://evil|click> & <!here>"


def snapshot(**fields: object) -> LeadSnapshot:
    values: dict[str, object] = {"id": 7, "state": LeadState.NEW, "captured_at": CAPTURED}
    values.update(fields)
    return LeadSnapshot(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<https://evil|click>", "&lt;https://evil|click&gt;"),
        ("&lt;", "&amp;lt;"),  # already-escaped-looking text is shown literally
        ("*bold* _it_", "*bold* _it_"),
    ],
)
def test_escape_mrkdwn(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped


def test_prospect_text_is_escaped_everywhere_it_is_mrkdwn() -> None:
    lead = snapshot(
        name=HOSTILE,
        company=HOSTILE,
        source=HOSTILE,
        email="x@example.com",
        answers={HOSTILE: HOSTILE},
    )
    message = render_lead_card(lead, CAPTURED)
    mrkdwn = [text for kind, text in text_objects(message.blocks) if kind == "mrkdwn"] + [
        message.text
    ]
    joined = "\n".join(mrkdwn)
    for raw in ("<!channel>", "<@U123>", "<https://evil|click>", "<!here>"):
        assert raw not in joined
    assert "&lt;!channel&gt;" in joined and "&lt;@U123&gt;" in joined and "&amp;" in joined
    assert "&lt;https://evil|click&gt;" in joined
    # plain_text is never parsed by Slack, so the header shows the name as typed.
    assert any(
        kind == "plain_text" and "<!channel>" in text for kind, text in text_objects(message.blocks)
    )


def test_unclaimed_card_has_claim_button_with_lead_id() -> None:
    blocks = render_lead_card(snapshot(name="Pat"), CAPTURED).blocks
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [("Claim", "7")]


def test_claimed_card_shows_owner_and_time_to_claim() -> None:
    lead = snapshot(
        name="Pat",
        state=LeadState.CLAIMED,
        owner_id="U0ALICE1",
        claimed_at=CAPTURED + timedelta(minutes=1, seconds=23),
    )
    message = render_lead_card(lead, CAPTURED)
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == [
        "Contacted",
        "Qualified",
        "Won",
        "Lost",
        "Nurture",
        "Release",
    ]
    texts = " ".join(text for _, text in text_objects(message.blocks))
    assert "Claimed by <@U0ALICE1> after 1m 23s" in texts


def test_owner_that_is_not_a_slack_id_is_not_turned_into_a_mention() -> None:
    lead = snapshot(state=LeadState.CLAIMED, owner_id="<!channel>", claimed_at=CAPTURED)
    texts = " ".join(text for _, text in text_objects(render_lead_card(lead, CAPTURED).blocks))
    assert "<!channel>" not in texts


def test_card_at_maximum_field_lengths_stays_within_block_kit_limits() -> None:
    lead = snapshot(
        name="&" * 200,
        company="<" * 200,
        email="e" * 300 + "@x.io",
        phone="+1" + "9" * 62,
        source=">" * 200,
        answers={("k" * 99 + str(i)): "&<>" * 666 for i in range(50)},
    )
    message = render_lead_card(lead, CAPTURED)
    assert len(message.blocks) <= 50
    for kind, text in text_objects(message.blocks):
        assert 1 <= len(text) <= 3000, (kind, len(text))
    header = message.blocks[0]["text"]["text"]
    assert len(header) <= 150
    for block in message.blocks:
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
    assert len(message.text) <= 4000
    json.dumps(message.blocks)


@pytest.mark.parametrize("owner", [None, "U0ALICE1"])
def test_every_card_at_the_apis_maximum_lengths_passes_slacks_block_kit_rules(
    owner: str | None,
) -> None:
    """The sandbox's validator is Slack's rulebook: a card it rejects would be lost in Slack."""
    lead = snapshot(
        name="<!channel>&" * 18,  # the intake API's limits: 200 for short text
        company="&" * 200,
        email="a" * 64 + "@" + "b" * 250 + ".io",
        phone="+44 " + "9" * 60,
        source="<" * 200,
        answers={
            **{f"{'q' * 98}{i:02d}": "&<>" * 666 for i in range(40)},  # keys 100, values 2000
            **{f"list{i}": ["<@U1>" * 40] * 20 for i in range(10)},  # 20 items of 200
        },
        owner_id=owner,
        claimed_at=CAPTURED + timedelta(minutes=3) if owner else None,
        state=LeadState.CLAIMED if owner else LeadState.NEW,
    )
    message = render_lead_card(lead, CAPTURED)
    assert validate_blocks(message.blocks) == []
    assert len(message.text) <= 4000  # chat.update's limit, the stricter of the two


@pytest.mark.parametrize("limit", [5, 50, 3000])
def test_safe_mrkdwn_never_exceeds_its_limit(limit: int) -> None:
    for raw in ("&" * 5000, "<>" * 3000, "abc" * 2000):
        assert len(safe_mrkdwn(raw, limit)) <= limit


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m 00s"),
        (83, "1m 23s"),
        (3600, "1h 00m"),
        (90061, "1d 1h"),
        (-5, "0s"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_a_chat_lead_card_says_how_to_reach_the_visitor_and_that_they_want_a_person() -> None:
    lead = snapshot(intake="widget", asked_for_human=True)
    message = render_lead_card(lead, CAPTURED)
    assert message.blocks[0]["text"]["text"] == "New lead: website visitor #7"
    texts = [text for _, text in text_objects(message.blocks)]
    assert any("Asked to talk to a person" in t for t in texts)
    assert any("`note:`" in t and "Website chat" in t for t in texts)
    assert validate_blocks(message.blocks) == []


def test_an_api_lead_card_has_no_chat_hint() -> None:
    message = render_lead_card(snapshot(intake="api"), CAPTURED)
    texts = [text for _, text in text_objects(message.blocks)]
    assert message.blocks[0]["text"]["text"] == "New lead: Lead #7"
    assert not any("Website chat" in t or "Asked to talk" in t for t in texts)


def test_a_relayed_visitor_line_names_the_visitor_and_is_escaped() -> None:
    named = render_visitor_message("call me <!here>", "<@U1> & co")
    assert named.text == "*&lt;@U1&gt; &amp; co (visitor):* call me &lt;!here&gt;"
    assert render_visitor_message("hi", None).text == "*Visitor:* hi"
    long = render_visitor_message("&" * 5000, "n" * 500)
    assert validate_blocks(long.blocks) == []
