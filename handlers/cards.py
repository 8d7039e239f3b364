"""Block Kit renderers: pure functions from a stored lead to a Slack message.

Every prospect-supplied string goes through `escape_mrkdwn` (or a `plain_text`
object), and every text is cut to its Block Kit limit, so a card is always valid
and a visitor typing `<!channel>` pings nobody.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.domain.lead import LeadSnapshot, format_duration
from bot.domain.merge import LeadMerge
from bot.outbox import RenderedMessage

CLAIM_ACTION_ID = "lead_claim"
SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
FALLBACK_TEXT_LIMIT = 3000
ANSWER_VALUE_LIMIT = 300
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack parses in mrkdwn, `&` first (never twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_mrkdwn(text: str, limit: int) -> str:
    """Truncate then escape, cutting again if escaping pushed it over the limit."""
    escaped = escape_mrkdwn(truncate(text, limit))
    while len(escaped) > limit:
        text = text[: max(0, len(text) - (len(escaped) - limit) - 1)]
        escaped = escape_mrkdwn(text) + "…"
    return escaped


def mention(user_id: str) -> str:
    """A user mention, only for ids that come from Slack itself (never prospect text)."""
    return f"<@{user_id}>" if _SLACK_USER_ID.match(user_id) else escape_mrkdwn(user_id)


CHAT_HINT = (
    ":speech_balloon: Website chat: the owner's replies in this thread go to the visitor; "
    "start a reply with `note:` to keep it internal."
)


def _display_name(lead: LeadSnapshot) -> str:
    unnamed = f"website visitor #{lead.id}" if lead.is_chat else f"Lead #{lead.id}"
    return lead.name or lead.company or lead.email or lead.phone or unnamed


def _format_answer(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_format_answer(v) for v in value)
    return str(value)


def _fields(lead: LeadSnapshot) -> list[dict[str, Any]]:
    pairs = [
        ("Name", lead.name),
        ("Company", lead.company),
        ("Email", lead.email),
        ("Phone", lead.phone),
        ("Source", lead.source),
        ("Queue", lead.queue_name),
    ]
    return [
        {"type": "mrkdwn", "text": f"*{label}*\n" + safe_mrkdwn(value, FIELD_LIMIT - 20)}
        for label, value in pairs
        if value
    ]


def _pair_line(label: str, value: Any) -> str:
    return f"*{safe_mrkdwn(label, 100)}:* {safe_mrkdwn(_format_answer(value), ANSWER_VALUE_LIMIT)}"


def _answers_text(answers: dict[str, Any]) -> str | None:
    return _section_text([_pair_line(str(key), value) for key, value in answers.items()])


def _section_text(lines: list[str]) -> str | None:
    """Lines joined up to a section's limit, with an ellipsis line when cut."""
    if not lines:
        return None
    text = ""
    for line in lines:
        if len(text) + len(line) + 1 > SECTION_TEXT_LIMIT - 20:
            return text + "\n…"
        text = f"{text}\n{line}" if text else line
    return text


def _status_block(lead: LeadSnapshot) -> dict[str, Any]:
    if lead.owner_id is None:
        return {
            "type": "actions",
            "block_id": "lead_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": CLAIM_ACTION_ID,
                    "text": {"type": "plain_text", "text": "Claim"},
                    "value": str(lead.id),
                    "style": "primary",
                }
            ],
        }
    took = f" after {format_duration(lead.time_to_claim)}" if lead.time_to_claim is not None else ""
    return {
        "type": "section",
        "block_id": "lead_owner",
        "text": {
            "type": "mrkdwn",
            "text": f":white_check_mark: Claimed by {mention(lead.owner_id)}{took}",
        },
    }


def render_lead_card(lead: LeadSnapshot, now: datetime) -> RenderedMessage:
    """The lead's card in its queue channel, drawn from the stored lead alone."""
    name = _display_name(lead)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": "lead_header",
            "text": {"type": "plain_text", "text": truncate(f"New lead: {name}", HEADER_LIMIT)},
        }
    ]
    fields = _fields(lead)
    if fields:
        blocks.append({"type": "section", "block_id": "lead_fields", "fields": fields})
    if lead.asked_for_human:
        blocks.append(
            {
                "type": "section",
                "block_id": "lead_human",
                "text": {"type": "mrkdwn", "text": ":raising_hand: *Asked to talk to a person*"},
            }
        )
    answers = _answers_text(lead.answers)
    if answers:
        blocks.append(
            {
                "type": "section",
                "block_id": "lead_answers",
                "text": {"type": "mrkdwn", "text": answers},
            }
        )
    captured = lead.captured_at.strftime("%Y-%m-%d %H:%M UTC")
    grade = f" · {lead.grade} ({lead.score})" if lead.grade else ""
    returned = f" · came back {lead.merged_count}×" if lead.merged_count else ""
    blocks.append(
        {
            "type": "context",
            "block_id": "lead_context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Lead #{lead.id} · captured {captured}"
                    f" · {lead.state.value}{grade}{returned}",
                }
            ],
        }
    )
    if lead.is_chat:
        blocks.append(
            {
                "type": "context",
                "block_id": "lead_chat",
                "elements": [{"type": "mrkdwn", "text": CHAT_HINT}],
            }
        )
    blocks.append(_status_block(lead))
    owner = f" — claimed by {mention(lead.owner_id)}" if lead.owner_id else ""
    text = safe_mrkdwn(f"New lead #{lead.id}: {name}", FALLBACK_TEXT_LIMIT - 100) + owner
    return RenderedMessage(text=text, blocks=blocks)


CONTACT_LABELS = {
    "name": "Name",
    "company": "Company",
    "email": "Email",
    "phone": "Phone",
    "source": "Source",
}
INTAKE_LABELS = {"api": "the form/API", "widget": "the website chat", "import": "a CSV import"}


def render_merge_note(lead: LeadSnapshot, merge: LeadMerge) -> RenderedMessage:
    """The thread reply telling the lead's owner that the person came back, and what changed."""
    name = safe_mrkdwn(_display_name(lead), 200)
    who = f"{mention(lead.owner_id)} " if lead.owner_id else ""
    matched = " and ".join(merge.matched) or "contact details"
    via = INTAKE_LABELS.get(merge.via) or safe_mrkdwn(merge.via or "another intake", 50)
    headline = f":leftwards_arrow_with_hook: {who}*{name}* came back (same {matched}) via {via}."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "merge_note", "text": {"type": "mrkdwn", "text": headline}}
    ]
    changed = [_pair_line(CONTACT_LABELS.get(k, k), v) for k, v in merge.filled.items()] + [
        _pair_line(str(k), v) for k, v in merge.answers.items()
    ]
    changes = _section_text(["*What changed:*", *changed]) if changed else None
    blocks.append(
        {
            "type": "section",
            "block_id": "merge_changes",
            "text": {"type": "mrkdwn", "text": changes or "_Nothing new in what they gave._"},
        }
    )
    if merge.differing:
        differing = ["*Also gave (the card keeps the earlier value):*"] + [
            _pair_line(CONTACT_LABELS.get(k, k), v) for k, v in merge.differing.items()
        ]
        blocks.append(
            {
                "type": "section",
                "block_id": "merge_differing",
                "text": {"type": "mrkdwn", "text": _section_text(differing) or ""},
            }
        )
    count = f" · came back {lead.merged_count}×" if lead.merged_count else ""
    blocks.append(
        {
            "type": "context",
            "block_id": "merge_context",
            "elements": [{"type": "mrkdwn", "text": f"Lead #{lead.id}{count}"}],
        }
    )
    text = who + safe_mrkdwn(f"{_display_name(lead)} came back", FALLBACK_TEXT_LIMIT - 100)
    return RenderedMessage(text=text, blocks=blocks)
