"""The Lost and Nurture modals: pure builders, and readers that check a submission.

Slack itself only refuses a blank *required* field, so both modals mark their
fields optional and the bot checks them here, answering with field errors that
keep the modal open (`response_action: errors`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

LOST_CALLBACK = "lead_lost"
NURTURE_CALLBACK = "lead_nurture"

LOST_REASONS = (
    "Price",
    "Timing",
    "Chose a competitor",
    "No budget",
    "No response",
    "Not a fit",
    "Other",
)
DETAILS_LIMIT = 500
FOLLOW_UP_HORIZON = timedelta(days=366)


def _metadata(lead_id: int) -> str:
    return json.dumps({"lead_id": lead_id})


def _lead_id_of(view: dict[str, Any]) -> int:
    try:
        value = json.loads(view.get("private_metadata") or "{}").get("lead_id")
        return int(value)
    except (ValueError, TypeError, AttributeError):
        return 0


def _modal(
    callback_id: str, title: str, submit: str, lead_id: int, blocks: list[Any]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": _metadata(lead_id),
        "blocks": blocks,
    }


def _text_input(block_id: str, label: str, hint: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "hint": {"type": "plain_text", "text": hint},
        "element": {
            "type": "plain_text_input",
            "action_id": "text",
            "multiline": True,
            "max_length": DETAILS_LIMIT,
        },
    }


def lost_modal(lead_id: int) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": r}, "value": r} for r in LOST_REASONS]
    return _modal(
        LOST_CALLBACK,
        "Mark lead lost",
        "Mark lost",
        lead_id,
        [
            {
                "type": "input",
                "block_id": "lost_reason",
                "optional": True,
                "label": {"type": "plain_text", "text": f"Why was lead #{lead_id} lost?"},
                "element": {
                    "type": "static_select",
                    "action_id": "reason",
                    "placeholder": {"type": "plain_text", "text": "Pick a reason"},
                    "options": options,
                },
            },
            _text_input("lost_details", "Details", "Required when the reason is Other."),
        ],
    )


def nurture_modal(lead_id: int) -> dict[str, Any]:
    return _modal(
        NURTURE_CALLBACK,
        "Nurture lead",
        "Nurture",
        lead_id,
        [
            {
                "type": "input",
                "block_id": "follow_up",
                "optional": True,
                "label": {"type": "plain_text", "text": f"Follow up with lead #{lead_id} on"},
                "element": {"type": "datepicker", "action_id": "date"},
            },
            _text_input("nurture_note", "Note", "Optional: what to pick up on next time."),
        ],
    )


def _value(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    values = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    found = values.get(action_id)
    return found if isinstance(found, dict) else {}


def _text(view: dict[str, Any], block_id: str) -> str:
    return str(_value(view, block_id, "text").get("value") or "").strip()[:DETAILS_LIMIT]


@dataclass(frozen=True)
class LostForm:
    lead_id: int
    reason: str
    errors: dict[str, str] = field(default_factory=dict)
    first_block: str = "lost_reason"


def read_lost(view: dict[str, Any]) -> LostForm:
    picked = (_value(view, "lost_reason", "reason").get("selected_option") or {}).get("value")
    details = _text(view, "lost_details")
    errors: dict[str, str] = {}
    if picked not in LOST_REASONS:
        errors["lost_reason"] = "Pick why the lead was lost."
    elif picked == "Other" and not details:
        errors["lost_details"] = "Say what happened, or pick one of the reasons above."
    reason = f"{picked}: {details}" if picked and details else str(picked or "")
    return LostForm(_lead_id_of(view), reason, errors)


@dataclass(frozen=True)
class NurtureForm:
    lead_id: int
    follow_up: date | None
    note: str
    errors: dict[str, str] = field(default_factory=dict)
    first_block: str = "follow_up"


def read_nurture(view: dict[str, Any], today: date) -> NurtureForm:
    raw = _value(view, "follow_up", "date").get("selected_date")
    note = _text(view, "nurture_note")
    try:
        day = date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        day = None
    errors: dict[str, str] = {}
    if day is None:
        errors["follow_up"] = "Pick the date to follow up on."
    elif day <= today:
        errors["follow_up"] = "Pick a date after today."
    elif day > today + FOLLOW_UP_HORIZON:
        errors["follow_up"] = "Pick a date within the next year."
    return NurtureForm(_lead_id_of(view), day, note, errors)
