"""Reading Block Kit in tests."""

from __future__ import annotations

from typing import Any


def text_objects(node: Any) -> list[tuple[str, str]]:
    """Every (type, text) of the `plain_text`/`mrkdwn` objects anywhere in `node`."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            found.append((node["type"], node["text"]))
        for value in node.values():
            found += text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += text_objects(value)
    return found
