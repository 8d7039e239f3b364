"""Slack's wire text → plain text for a website visitor. Pure.

A rep's thread reply arrives in Slack's escaped form: `&lt; &gt; &amp;` for the
three special characters, and `<…>` tokens for mentions, channels and links.
The visitor sees plain text, so each token becomes what a person would read
("@Alice", "#general", "label (https://…)") and the entities are unescaped
once, after the tokens, so an escaped `&lt;@U1&gt;` stays the literal text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"<([^<>]*)>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def _token(body: str, names: Mapping[str, str]) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        user = target[1:]
        return f"@{label or names.get(user) or 'someone'}"
    if target.startswith("#"):
        return f"#{label or 'channel'}"
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        return label or _SPECIAL.get(word, f"@{word}")
    if label and label != target:
        return f"{label} ({target})"
    return target.removeprefix("mailto:")


def plain_text_from_slack(wire: str, names: Mapping[str, str]) -> str:
    """What the visitor reads for a Slack message: tokens resolved, entities unescaped once.

    `names` maps Slack user ids to display names; unknown users read as "@someone".
    """
    resolved = _TOKEN.sub(lambda m: _token(m.group(1), names), wire)
    return resolved.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
