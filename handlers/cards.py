"""Block Kit renderers: pure functions from a stored lead to a Slack message.

Every prospect-supplied string goes through `escape_mrkdwn` (or a `plain_text`
object), and every text is cut to its Block Kit limit, so a card is always valid
and a visitor typing `<!channel>` pings nobody.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.domain.lead import (
    CLAIMABLE_STATES,
    CLOSED_STATES,
    LeadAction,
    LeadSnapshot,
    LeadState,
    actions_for,
    format_duration,
)
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


def display_name(lead: LeadSnapshot) -> str:
    if lead.erased:
        return f"Erased lead #{lead.id}"
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


ACTION_IDS: dict[LeadAction, str] = {a: f"lead_{a.value}" for a in LeadAction}
ACTION_LABELS: dict[LeadAction, str] = {
    LeadAction.CONTACTED: "Contacted",
    LeadAction.QUALIFIED: "Qualified",
    LeadAction.WON: "Won",
    LeadAction.LOST: "Lost",
    LeadAction.NURTURE: "Nurture",
    LeadAction.RELEASE: "Release",
}
_ACTION_STYLES = {LeadAction.WON: "primary", LeadAction.LOST: "danger"}
STATE_LABELS = {
    LeadState.NEW: "open to the queue",
    LeadState.OFFERED: "offered",
    LeadState.CLAIMED: "claimed",
    LeadState.CONTACTED: "contacted",
    LeadState.QUALIFIED: "qualified",
    LeadState.WON: "won :tada:",
    LeadState.LOST: "lost",
    LeadState.NURTURE: "nurture",
    LeadState.SPAM: "spam",
}


def slack_time(moment: datetime, fallback_format: str = "%H:%M UTC") -> str:
    """A time Slack shows in each reader's own timezone (with a UTC fallback)."""
    return f"<!date^{int(moment.timestamp())}^{{time}}|{moment:{fallback_format}}>"


def slack_date(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{moment:%Y-%m-%d}>"


def _button(action_id: str, label: str, lead_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": str(lead_id),
    }
    if style:
        button["style"] = style
    return button


def _actions_block(lead: LeadSnapshot) -> dict[str, Any] | None:
    if lead.owner_id is None:
        if lead.state not in CLAIMABLE_STATES:
            return None
        buttons = [_button(CLAIM_ACTION_ID, "Claim", lead.id, "primary")]
    else:
        buttons = [
            _button(ACTION_IDS[a], ACTION_LABELS[a], lead.id, _ACTION_STYLES.get(a))
            for a in actions_for(lead.state)
        ]
    if not buttons:
        return None
    return {"type": "actions", "block_id": "lead_actions", "elements": buttons}


def _status_text(lead: LeadSnapshot, now: datetime) -> str | None:
    """Who has the lead: the offer and its window, the open call, or the owner and state."""
    if lead.owner_id is not None:
        took = (
            f" after {format_duration(lead.time_to_claim)}"
            if lead.time_to_claim is not None
            else ""
        )
        line = f":white_check_mark: Claimed by {mention(lead.owner_id)}{took}"
        if lead.state is not LeadState.CLAIMED:
            line += f" · *{STATE_LABELS[lead.state]}*"
        if lead.state is LeadState.LOST and lead.lost_reason:
            line += f"\n*Reason:* {safe_mrkdwn(lead.lost_reason, 600)}"
        if lead.state is LeadState.NURTURE and lead.follow_up_at is not None:
            line += f"\n*Follow up:* {slack_date(lead.follow_up_at)}"
        return line
    if lead.state is LeadState.OFFERED and lead.offered_rep_id:
        line = f":point_right: Offered to {mention(lead.offered_rep_id)}"
        if lead.exclusive_until is not None and lead.exclusive_until > now:
            line += (
                f" — only they can claim it until {slack_time(lead.exclusive_until)}, "
                "then anyone in the queue can"
            )
        return line
    if lead.state is LeadState.NEW:
        return (
            ":rotating_light: Nobody in the queue is available right now: "
            "*open to anyone in this channel*"
        )
    return None


def sla_text(lead: LeadSnapshot) -> str | None:
    """The SLA clock as the card shows it: the deadline in each reader's own time, or the
    outcome once there was a first contact."""
    status = lead.sla_status
    if status is None:
        return None
    if status == "met" and lead.sla_elapsed is not None:
        return f":stopwatch: SLA met: first contact after {format_duration(lead.sla_elapsed)}"
    if status == "missed_contacted" and lead.sla_elapsed is not None and lead.sla_target:
        over = format_duration(lead.sla_elapsed - lead.sla_target)
        took = format_duration(lead.sla_elapsed)
        return f":warning: SLA missed by {over} (first contact after {took})"
    if status == "missed":
        return ":warning: *SLA missed*: no first contact in time"
    if status == "pending" and lead.sla_due is not None and lead.state not in CLOSED_STATES:
        return f":stopwatch: First contact due by {slack_time(lead.sla_due)}"
    return None


def _reasons_text(lead: LeadSnapshot) -> str | None:
    if lead.grade is None and not lead.reasons:
        return None
    grade = f"*{safe_mrkdwn(lead.grade, 10)}* · " if lead.grade else ""
    reasons = " · ".join(safe_mrkdwn(r, 120) for r in lead.reasons)
    return f"{grade}score {lead.score}" + (f" — {reasons}" if reasons else "")


def _why_text(lead: LeadSnapshot) -> str | None:
    """Why this queue and this rep, for the context line."""
    parts = []
    if lead.route_reason:
        parts.append(f"Routed: {safe_mrkdwn(lead.route_reason, 300)}")
    if lead.skipped:
        skipped = ", ".join(
            f"{safe_mrkdwn(name, 80)} ({safe_mrkdwn(why, 40)})" for name, why in lead.skipped
        )
        parts.append(f"Passed over: {skipped}")
    return " · ".join(parts) or None


def _status_block(lead: LeadSnapshot, now: datetime) -> dict[str, Any] | None:
    """Who has the lead and its state, and the SLA clock line: every card shows them."""
    status = "\n".join(t for t in (_status_text(lead, now), sla_text(lead)) if t)
    if not status:
        return None
    return {
        "type": "section",
        "block_id": "lead_status",
        "text": {"type": "mrkdwn", "text": status},
    }


def _context_line(lead: LeadSnapshot) -> str:
    captured = lead.captured_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"Lead #{lead.id} · captured {captured} · {lead.state.value}"


ERASED_NOTE = (
    ":wastebasket: This person's contact details and conversation were erased "
    "(`/leads forget`). The lead is kept, anonymous, for the reports."
)


def render_erased_card(lead: LeadSnapshot, now: datetime) -> RenderedMessage:
    """An erased lead's card: no contact, answers or reasons; its state and buttons stay
    (the lead can still be closed) and it no longer invites replies to the visitor."""
    name = display_name(lead)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": "lead_header",
            "text": {"type": "plain_text", "text": name},
        },
        {
            "type": "section",
            "block_id": "lead_erased",
            "text": {"type": "mrkdwn", "text": ERASED_NOTE},
        },
    ]
    status = _status_block(lead, now)
    if status:
        blocks.append(status)
    context = _context_line(lead)
    blocks.append(
        {
            "type": "context",
            "block_id": "lead_context",
            "elements": [{"type": "mrkdwn", "text": context}],
        }
    )
    actions = _actions_block(lead)
    if actions:
        blocks.append(actions)
    owner = f" — claimed by {mention(lead.owner_id)}" if lead.owner_id else ""
    return RenderedMessage(text=name + owner, blocks=blocks)


def render_lead_card(lead: LeadSnapshot, now: datetime) -> RenderedMessage:
    """The lead's card in its queue channel, drawn from the stored lead alone."""
    if lead.erased:
        return render_erased_card(lead, now)
    name = display_name(lead)
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
    reasons = _reasons_text(lead)
    if reasons:
        blocks.append(
            {
                "type": "section",
                "block_id": "lead_score",
                "text": {"type": "mrkdwn", "text": reasons},
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
    status = _status_block(lead, now)
    if status:
        blocks.append(status)
    returned = f" · came back {lead.merged_count}×" if lead.merged_count else ""
    context = [{"type": "mrkdwn", "text": _context_line(lead) + returned}]
    why = _why_text(lead)
    if why:
        context.append({"type": "mrkdwn", "text": why})
    blocks.append({"type": "context", "block_id": "lead_context", "elements": context})
    if lead.is_chat:
        blocks.append(
            {
                "type": "context",
                "block_id": "lead_chat",
                "elements": [{"type": "mrkdwn", "text": CHAT_HINT}],
            }
        )
    actions = _actions_block(lead)
    if actions:
        blocks.append(actions)
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
    name = safe_mrkdwn(display_name(lead), 200)
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
    text = who + safe_mrkdwn(f"{display_name(lead)} came back", FALLBACK_TEXT_LIMIT - 100)
    return RenderedMessage(text=text, blocks=blocks)


def render_offer_dm(lead: LeadSnapshot, now: datetime) -> RenderedMessage:
    """The DM to the offered rep: a line saying so, then the lead's card with its Claim button."""
    card = render_lead_card(lead, now)
    window = ""
    if lead.exclusive_until is not None and lead.exclusive_until > now:
        window = f" Only you can claim it until {slack_time(lead.exclusive_until)}."
    name = safe_mrkdwn(display_name(lead), 200)
    queue = f" in *{safe_mrkdwn(lead.queue_name, 80)}*" if lead.queue_name else ""
    intro = f":wave: You're offered a new lead{queue}: *{name}*.{window}"
    blocks = [
        {"type": "section", "block_id": "offer_intro", "text": {"type": "mrkdwn", "text": intro}},
        *card.blocks,
    ]
    text = safe_mrkdwn(f"You're offered lead #{lead.id}: {display_name(lead)}", 2000)
    return RenderedMessage(text=text, blocks=blocks)
