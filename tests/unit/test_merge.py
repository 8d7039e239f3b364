"""Dedup decisions (`plan_merge`) and the thread note telling the owner (`render_merge_note`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.contact import parse_email, parse_phone
from bot.domain.lead import LeadSnapshot, LeadState
from bot.domain.merge import Contact, LeadMerge, plan_merge
from handlers.cards import render_lead_card, render_merge_note
from sandbox import validate_blocks
from tests.blocks import text_objects

CAPTURED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> hi <@U123> see <https://evil|click> & <!here>"
JANE = Contact(name="Jane", email=parse_email("Jane@Example.com"), source="google")


@pytest.mark.parametrize(
    ("incoming", "old", "new", "expected"),
    [
        (  # same email, other spelling, nothing new
            Contact(email=parse_email("jane@example.com")),
            {"budget": "5"},
            {"budget": "5"},
            LeadMerge(("email",), "api"),
        ),
        (  # empty fields filled; a different name is reported, not written
            Contact(
                name="Janet",
                company="Initech",
                email=parse_email("jane@example.com"),
                phone=parse_phone("020 7946 0958", "GB"),
            ),
            {},
            {},
            LeadMerge(
                ("email",),
                "api",
                filled={"company": "Initech", "phone": "020 7946 0958"},
                differing={"name": "Janet"},
            ),
        ),
        (  # a name differing only in case or spaces is the same name; source is per visit
            Contact(name=" JANE ", email=parse_email("jane@example.com"), source="bing"),
            {},
            {},
            LeadMerge(("email",), "api"),
        ),
        (  # new answers win, new keys are added, old keys are kept (not listed)
            Contact(email=parse_email("jane@example.com")),
            {"budget": "5", "team": "3"},
            {"budget": "9", "timeline": "Q3", "team": "3"},
            LeadMerge(("email",), "api", answers={"budget": "9", "timeline": "Q3"}),
        ),
    ],
)
def test_plan_merge(
    incoming: Contact, old: dict[str, Any], new: dict[str, Any], expected: LeadMerge
) -> None:
    assert plan_merge(JANE, incoming, old, new, via="api") == expected


def test_matched_on_both_and_payload_round_trip() -> None:
    stored = Contact(email=parse_email("a@example.com"), phone=parse_phone("+14155552671", "US"))
    incoming = Contact(
        email=parse_email("A@example.com"),
        phone=parse_phone("(415) 555-2671", "US"),
        name="Al",
    )
    merge = plan_merge(stored, incoming, {}, {"n": [1, 2]}, via="widget")
    assert merge.matched == ("email", "phone") and merge.changed
    assert LeadMerge.from_payload(merge.to_payload()) == merge
    assert merge.summary() == {
        "matched": ["email", "phone"],
        "via": "widget",
        "filled": ["name"],
        "differing": [],
        "answers": ["n"],
    }


def snapshot(**fields: object) -> LeadSnapshot:
    values: dict[str, object] = {
        "id": 7,
        "state": LeadState.NEW,
        "captured_at": CAPTURED,
        "merged_count": 1,
    }
    values.update(fields)
    return LeadSnapshot(**values)  # type: ignore[arg-type]


def test_note_mentions_the_owner_and_lists_what_changed() -> None:
    merge = LeadMerge(
        ("email",),
        "widget",
        filled={"phone": "020 7946 0958"},
        differing={"email": "other@example.com"},
        answers={"budget": "$50k"},
    )
    note = render_merge_note(snapshot(name="Jane", owner_id="U0ALICE1"), merge)
    assert validate_blocks(note.blocks) == []
    texts = "\n".join(text for _, text in text_objects(note.blocks))
    assert note.text.startswith("<@U0ALICE1> Jane came back")
    assert "<@U0ALICE1> *Jane* came back (same email) via the website chat." in texts
    assert "*Phone:* 020 7946 0958" in texts and "*budget:* $50k" in texts
    assert "*Email:* other@example.com" in texts
    assert "came back 1×" in texts


def test_note_without_owner_or_changes() -> None:
    note = render_merge_note(snapshot(email="x@example.com"), LeadMerge(("phone",), "api"))
    texts = "\n".join(text for _, text in text_objects(note.blocks))
    assert "<@" not in texts and "<@" not in note.text
    assert "*x@example.com* came back (same phone) via the form/API." in texts
    assert "Nothing new" in texts


def test_prospect_text_in_the_note_is_escaped() -> None:
    merge = LeadMerge(
        ("email",),
        HOSTILE,
        filled={"company": HOSTILE},
        differing={"name": HOSTILE},
        answers={HOSTILE: HOSTILE, "long": "x" * 5000},
    )
    note = render_merge_note(snapshot(name=HOSTILE), merge)
    assert validate_blocks(note.blocks) == []
    joined = "\n".join([text for _, text in text_objects(note.blocks)] + [note.text])
    for raw in ("<!channel>", "<@U123>", "<https://evil|click>", "<!here>"):
        assert raw not in joined
    assert "&lt;!channel&gt;" in joined


def test_card_counts_returns() -> None:
    card = render_lead_card(snapshot(name="Pat", merged_count=2), CAPTURED)
    assert any("came back 2×" in text for _, text in text_objects(card.blocks))
    fresh = render_lead_card(snapshot(name="Pat", merged_count=0), CAPTURED)
    assert not any("came back" in text for _, text in text_objects(fresh.blocks))
