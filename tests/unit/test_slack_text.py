"""Slack wire text → what a website visitor reads."""

from __future__ import annotations

import pytest

from bot.domain.slack_text import plain_text_from_slack

NAMES = {"U0ALICE1": "Alice Johnson"}


@pytest.mark.parametrize(
    ("wire", "plain"),
    [
        ("hi &lt;b&gt; &amp; co", "hi <b> & co"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
        ("ask <@U0ALICE1>", "ask @Alice Johnson"),
        ("ask <@U0NOBODY>", "ask @someone"),
        ("ask <@U0NOBODY|bob>", "ask @bob"),
        ("see <#C0SALES01|sales>", "see #sales"),
        ("<!here> hello", "@here hello"),
        ("<https://acme.example/x|our docs>", "our docs (https://acme.example/x)"),
        ("<https://acme.example/x>", "https://acme.example/x"),
        ("<mailto:a@b.example|a@b.example>", "a@b.example (mailto:a@b.example)"),
        ("&lt;@U0ALICE1&gt; typed literally", "<@U0ALICE1> typed literally"),
    ],
)
def test_plain_text_from_slack(wire: str, plain: str) -> None:
    assert plain_text_from_slack(wire, NAMES) == plain
