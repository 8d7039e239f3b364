"""Renders a visitor's live chat message for the lead's Slack thread (pure).

The text is the prospect's own, so it is escaped for mrkdwn and cut to the
Block Kit limit: a visitor typing `<!channel>` pings nobody.
"""

from __future__ import annotations

from bot.outbox import RenderedMessage
from handlers.cards import safe_mrkdwn

#: Longest visitor name shown before their line.
NAME_LIMIT = 80


def render_visitor_message(text: str, name: str | None = None) -> RenderedMessage:
    """`*Jane Doe (visitor):* …`, or `*Visitor:* …` before the visitor has said their name."""
    who = f"{safe_mrkdwn(name, NAME_LIMIT)} (visitor)" if name else "Visitor"
    prefix = f"*{who}:* "
    body = prefix + safe_mrkdwn(text, 3000 - len(prefix))
    return RenderedMessage(
        text=body, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": body}}]
    )
