"""Renders a visitor's live chat message for the lead's Slack thread (pure).

The text is the prospect's own, so it is escaped for mrkdwn and cut to the
Block Kit limit: a visitor typing `<!channel>` pings nobody.
"""

from __future__ import annotations

from bot.outbox import RenderedMessage
from handlers.cards import safe_mrkdwn

VISITOR_PREFIX = "*Visitor:* "
#: Section text limit (3000) less the prefix.
TEXT_LIMIT = 3000 - len(VISITOR_PREFIX)


def render_visitor_message(text: str) -> RenderedMessage:
    body = VISITOR_PREFIX + safe_mrkdwn(text, TEXT_LIMIT)
    return RenderedMessage(
        text=body, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": body}}]
    )
