"""The Block Kit validator on its own: one rule per row."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.blockkit import BlocksFormatError, decode_blocks, fill_missing_ids, validate_blocks


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def button(label: str, action_id: str = "claim", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(label), "action_id": action_id, **extra}


def test_a_realistic_lead_card_is_valid() -> None:
    blocks = [
        {"type": "header", "text": plain("New lead: ACME")},
        {
            "type": "section",
            "text": mrkdwn("*ACME* wants a demo"),
            "fields": [mrkdwn("*Score* 80"), mrkdwn("*Source* web")],
            "accessory": button("Details", "details", url="https://example.com"),
        },
        {
            "type": "context",
            "elements": [
                mrkdwn("via widget"),
                {"type": "image", "image_url": "https://x/y.png", "alt_text": "logo"},
            ],
        },
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": "lead:1",
            "elements": [
                button("Claim", "claim", value="1", style="primary"),
                button("Pass", "pass", value="1", style="danger"),
            ],
        },
        {"type": "image", "image_url": "https://x/y.png", "alt_text": "chart"},
        {"type": "markdown", "text": "**hello**"},
    ]
    assert validate_blocks(blocks) == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([{"type": "divider"}] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        (
            [{"type": "section", "text": mrkdwn("x" * 3001)}],
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "section", "text": mrkdwn("")}],
            "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "section", "text": {"type": "html", "text": "x"}}],
            "must be a valid enum value: mrkdwn, plain_text [json-pointer:/blocks/0/text/type]",
        ),
        ([{"type": "section"}], "must provide text or fields [json-pointer:/blocks/0]"),
        (
            [{"type": "section", "fields": [mrkdwn("f")] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        ),
        (
            [{"type": "section", "fields": [mrkdwn("f" * 2001)]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
        ),
        (
            [{"type": "header", "text": plain("h" * 151)}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "header", "text": mrkdwn("h")}],
            "must be a plain_text text object [json-pointer:/blocks/0/text/type]",
        ),
        (
            [{"type": "context", "elements": [mrkdwn("c")] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "actions", "elements": [button("b", f"a{i}") for i in range(26)]}],
            "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "actions", "elements": [button("b" * 76)]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [button("a", "same"), button("b", "same")]}],
            "duplicate action_id: same [json-pointer:/blocks/0/elements/1/action_id]",
        ),
        (
            [{"type": "actions", "elements": [button("a", "x" * 256)]}],
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        (
            [{"type": "actions", "elements": [button("a", value="v" * 2001)]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [{"type": "actions", "elements": [button("a", url="u" * 3001)]}],
            "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
        ),
        (
            [{"type": "actions", "elements": [button("a", style="secondary")]}],
            "must be a valid enum value: danger, primary [json-pointer:/blocks/0/elements/0/style]",
        ),
        (
            [{"type": "divider", "block_id": "b" * 256}],
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        (
            [{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}],
            "duplicate block_id: x [json-pointer:/blocks/1/block_id]",
        ),
        ([{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"),
        ([{"text": plain("no type")}], "missing required field: type [json-pointer:/blocks/0]"),
        (
            [{"type": "image", "image_url": "https://x"}],
            "missing required field: alt_text [json-pointer:/blocks/0]",
        ),
        (
            [{"type": "image", "image_url": "https://x", "alt_text": "a" * 2001}],
            "must be less than 2001 characters [json-pointer:/blocks/0/alt_text]",
        ),
        (
            [{"type": "markdown", "text": "m" * 7000}, {"type": "markdown", "text": "m" * 5001}],
            "markdown blocks must total less than 12001 characters [json-pointer:/blocks/1/text]",
        ),
    ],
)
def test_each_limit_is_reported_with_its_json_pointer(
    blocks: list[dict[str, Any]], expected: str
) -> None:
    assert expected in validate_blocks(blocks)


def test_action_ids_may_repeat_across_blocks() -> None:
    blocks = [
        {"type": "actions", "elements": [button("a", "claim")]},
        {"type": "actions", "elements": [button("a", "claim")]},
    ]
    assert validate_blocks(blocks) == []


def test_views_allow_more_blocks() -> None:
    assert validate_blocks([{"type": "divider"}] * 100, max_blocks=100) == []


@pytest.mark.parametrize("raw", ['{"type": "divider"}', "not json", '["x"]', 42, {"a": 1}])
def test_non_arrays_are_a_format_error(raw: object) -> None:
    with pytest.raises(BlocksFormatError):
        decode_blocks(raw)


def test_json_string_blocks_decode() -> None:
    assert decode_blocks('[{"type": "divider"}]') == [{"type": "divider"}]


def test_missing_ids_are_generated_without_touching_the_input() -> None:
    original = [{"type": "actions", "elements": [{"type": "button", "text": plain("a")}]}]
    counter = iter(range(100))
    filled = fill_missing_ids(original, lambda: f"id{next(counter)}")
    assert filled[0]["block_id"] == "id0"
    assert filled[0]["elements"][0]["action_id"] == "id1"
    assert "block_id" not in original[0]
