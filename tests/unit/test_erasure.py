"""Erasure's pure parts: reading the person a manager names, finding them in text that stays,
scrubbing what stays, and the erased lead's card."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain.contact import ContactError, Email, Phone
from bot.domain.erasure import (
    ERASED,
    Needles,
    erased_script_state,
    erased_touch,
    erased_utm,
    person_key,
    scrub,
    scrub_event,
    scrub_payload,
)
from bot.domain.lead import LeadSnapshot, LeadState
from bot.domain.merge import LeadMerge
from bot.domain.script import ScriptState
from bot.erasure import ErasureReport
from handlers.cards import render_lead_card, render_merge_note
from handlers.forget_command import erasure_reply, render_erased_line
from sandbox import validate_blocks

JOHN = Needles.of(
    emails=["john.doe@example.com", "John.Doe@Example.com"],
    phones=["+442079460958", "020 7946 0958"],
    texts=["John Doe", "Initech", "Jo"],
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("John.Doe@Example.COM", Email("John.Doe@Example.COM", "john.doe@example.com")),
        ("<mailto:jo@example.com|jo@example.com>", Email("jo@example.com", "jo@example.com")),
        ("+44 20 7946 0958", Phone("+44 20 7946 0958", "+442079460958")),
        ("020 7946 0958", Phone("020 7946 0958", "+442079460958")),  # the workspace's region
        ("(020) 7946-0958", Phone("(020) 7946-0958", "+442079460958")),
    ],
)
def test_person_key_normalizes_as_capture_does(typed: str, expected: Email | Phone) -> None:
    assert person_key(typed, "GB") == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "not an email address or phone number"),
        ("nobody", "not an email address or phone number"),
        ("john.doe@example.com please", "more than one word"),
        ("two words", "more than one word"),
        ("john@", "not a valid email address"),
        ("+44 12", "not a valid phone number"),
        ("12", "not a valid phone number"),
    ],
)
def test_person_key_refuses_anything_else_saying_why(typed: str, says: str) -> None:
    with pytest.raises(ContactError, match=says):
        person_key(typed, "GB")


@pytest.mark.parametrize(
    "text",
    [
        "JOHN.DOE@EXAMPLE.COM wrote",
        "call +44 20 7946 0958",
        "call 020-7946-0958 after 5",
        "(0)20 7946 0958",
        "meet john doe",
        "initech ltd",
        "+442079460958",
    ],
)
def test_needles_find_the_person_in_any_spelling(text: str) -> None:
    assert JOHN.found_in(text)


@pytest.mark.parametrize("text", ["Joanna from Globex", "score 20", "2026-01-05T09:00:00", ""])
def test_needles_leave_other_text_alone(text: str) -> None:
    # "Jo" is too short to look for: it would erase every "Joanna".
    assert not JOHN.found_in(text)


def test_no_needles_find_nothing() -> None:
    empty = Needles.of()
    assert not empty and not empty.found_in("john.doe@example.com")


def test_scrub_replaces_only_strings_that_mention_the_person_at_any_depth() -> None:
    value = {
        "queue": "sales",
        "score": 40,
        "skipped": [{"rep": "U0BOB001", "reason": "away"}, {"note": "ask John Doe"}],
        "ok": True,
    }
    assert scrub(value, JOHN) == {
        "queue": "sales",
        "score": 40,
        "skipped": [{"rep": "U0BOB001", "reason": "away"}, {"note": ERASED}],
        "ok": True,
    }


def test_scrub_event_erases_a_reps_free_text_but_keeps_system_reasons() -> None:
    lost = scrub_event("lost", "Other: went quiet", {"reason": "Other: went quiet"}, JOHN)
    assert lost == (ERASED, {"reason": ERASED})
    nurture = scrub_event(
        "nurture", None, {"reason": "ring in May", "follow_up": "2026-05-01"}, JOHN
    )
    assert nurture == (None, {"reason": ERASED, "follow_up": "2026-05-01"})
    passed = scrub_event("passed", "away", {"rep": "U0BOB001", "queue": "sales"}, JOHN)
    assert passed == ("away", {"rep": "U0BOB001", "queue": "sales"})
    merged = {"matched": ["phone"], "filled": ["email"], "differing": [], "answers": ["budget"]}
    assert scrub_event("merged", None, merged, JOHN) == (None, merged)  # field names only


def test_scrub_payload_erases_a_returning_persons_values_and_notes() -> None:
    merge = LeadMerge(
        matched=("phone",),
        via="api",
        filled={"email": "john.doe@example.com"},
        differing={"company": "Initech Ltd"},
        answers={"budget": "$50k"},
    )
    payload = scrub_payload({"merge": merge.to_payload()}, JOHN)
    assert payload["merge"] == {
        "matched": ["phone"],
        "via": "api",
        "filled": {"email": ERASED},
        "differing": {"company": ERASED},
        "answers": {"budget": ERASED},
    }
    # What remains still reads as a merge (a pending thread note renders it).
    assert LeadMerge.from_payload(payload["merge"]).filled == {"email": ERASED}
    reminder = {"note": "send the quote", "by": "U0ALICE1"}
    assert scrub_payload(reminder, JOHN) == {"note": ERASED, "by": "U0ALICE1"}
    notice = {"to": "U0ALICE1", "text": "Lead unclaimed for 1m", "here": False}
    assert scrub_payload(notice, JOHN) == notice


def test_touches_keep_only_campaign_attribution() -> None:
    touch = {
        "at": "2026-01-05T09:00:00+00:00",
        "intake": "api",
        "source": "newsletter",
        "page": "https://acme.example/pricing?email=jane@x.example",
        "referrer": "https://mail.example/inbox",
        "utm": {"source": "newsletter", "campaign": "spring", "content": "jane@x.example"},
    }
    assert erased_touch(touch, JOHN) == {
        "at": "2026-01-05T09:00:00+00:00",
        "intake": "api",
        "source": "newsletter",
        "utm": {"source": "newsletter", "campaign": "spring"},
    }
    assert erased_touch({}, JOHN) == {}
    assert erased_utm({"campaign": "for john.doe@example.com", "term": "x"}, JOHN) == {
        "campaign": ERASED
    }


def test_an_erased_script_state_is_still_a_state_the_engine_reads() -> None:
    state = ScriptState(
        index=3,
        attempts=0,
        answers={"name": "John Doe", "email": "john.doe@example.com", "company_size": 250},
        given={"email": "John.Doe@Example.com"},
        finished=None,
        asked_for_human=False,
    )
    stored = {"engine": state.to_json(), "input": {"kind": "number"}}
    erased = erased_script_state(stored, JOHN)
    assert erased == {
        "engine": {**state.to_json(), "answers": {}, "given": {}},
        "input": {"kind": "number"},
    }
    assert ScriptState.from_json(erased["engine"]).index == 3
    assert "john" not in json.dumps(erased).lower()


CAPTURED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_an_erased_leads_card_shows_no_contact_and_passes_block_kit() -> None:
    lead = LeadSnapshot(
        id=12,
        state=LeadState.CLAIMED,
        captured_at=CAPTURED,
        intake="widget",
        owner_id="U0ALICE1",
        claimed_at=CAPTURED,
        score=65,
        grade="SQL",
        merged_count=1,
        erased=True,
    )
    message = render_lead_card(lead, CAPTURED)
    assert message.text == "Erased lead #12 — claimed by <@U0ALICE1>"
    assert message.blocks[0]["text"]["text"] == "Erased lead #12"
    blocks = {b.get("block_id") for b in message.blocks}
    assert {"lead_fields", "lead_answers", "lead_score", "lead_chat"}.isdisjoint(blocks)
    assert "lead_erased" in blocks and "lead_actions" in blocks  # it can still be closed
    assert validate_blocks(message.blocks) == []
    note = render_merge_note(lead, LeadMerge(("phone",), "api", {"email": ERASED}))
    assert "Erased lead #12" in note.text


def test_an_erased_line_replaces_a_relayed_visitor_line() -> None:
    line = render_erased_line()
    assert line.text == "(erased)" and validate_blocks(line.blocks) == []


def test_the_reply_says_what_was_erased_or_that_nothing_matched() -> None:
    report = ErasureReport(
        "email",
        (1, 2),
        conversations=1,
        messages=14,
        page_views=1,
        events=2,
        cards=2,
        slack_lines=1,
        slack_copies=3,
    )
    reply = erasure_reply(report, "john.doe@example.com")
    assert "2 leads (#1, #2)" in reply and "1 conversation, 14 messages and 1 page view" in reply
    assert "2 events scrubbed" in reply
    assert (
        "Slack: replacing 2 lead cards, 1 visitor line relayed into threads, 3 other messages "
        "(thread notes, DMs, notices) now." in reply
    )
    assert "john.doe@example.com" not in reply
    assert "Not replaced: your team's own replies in those threads" in reply
    quiet = erasure_reply(ErasureReport("email", (3,), conversations=1, messages=4), "x")
    assert "1 lead (#3)" in quiet and "Slack" not in quiet and "Not replaced" not in quiet
    chat_only = erasure_reply(ErasureReport("email", (), 1, messages=3, page_views=1), "x")
    assert chat_only == (
        ":wastebasket: Erased that person's website chat: 1 conversation, 3 messages and "
        "1 page view. No lead had their details."
    )
    nothing = erasure_reply(ErasureReport("phone"), "<+1 555>")
    assert nothing.startswith(":mag: Nothing matched `&lt;+1 555&gt;`") and "that phone" in nothing
