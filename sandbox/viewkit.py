"""Checking and assembling view objects (contract §3 `views.*`, §4, check 9).

Used by the `views.*` methods and by the submission flow, which applies the
same rules to a view the bot returns with `response_action: update|push`.
Pure: ids and hashes are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sandbox.blockkit import fill_missing_ids, validate_blocks, validate_text_object
from sandbox.workspace import BotIdentity

MAX_VIEW_BYTES = 250_000  # "250kb"; the stricter reading, so a bot never relies on slack
MAX_VIEW_BLOCKS = 100
MAX_BUTTON_TEXT = 24
_STRING_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}


class ViewError(Exception):
    """A view Slack refuses: `code` plus `[ERROR] … [json-pointer:/view/…]` messages."""

    def __init__(self, code: str, messages: list[str] | None = None) -> None:
        super().__init__(code, messages)
        self.code = code
        self.messages = messages or []

    def extra(self) -> dict[str, Any]:
        """What Slack adds to the error body: the messages under `response_metadata`."""
        return {"response_metadata": {"messages": self.messages}} if self.messages else {}


def decode_view(raw: object) -> dict[str, Any]:
    """The `view` argument, sent decoded (JSON body) or as a JSON string (form, query)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise ViewError(
                "invalid_arguments", ["[ERROR] invalid JSON [json-pointer:/view]"]
            ) from None
    if value is None:
        raise ViewError("invalid_arguments", ["[ERROR] missing required field: view"])
    if not isinstance(value, dict):
        raise ViewError(
            "invalid_arguments", ["[ERROR] must provide an object [json-pointer:/view]"]
        )
    return value


def validate_view(view: dict[str, Any], kind: str) -> None:
    """Raise `ViewError` unless `view` is a valid view of type `kind` ("modal" or "home")."""
    if len(json.dumps(view, separators=(",", ":")).encode()) > MAX_VIEW_BYTES:
        raise ViewError("view_too_large")
    errors: list[str] = []
    if view.get("type") != kind:
        errors.append(f"must be a valid enum value: {kind} [json-pointer:/view/type]")
    if kind == "modal" and "title" not in view:
        errors.append("missing required field: title [json-pointer:/view]")
    for key in ("title", "submit", "close"):
        if view.get(key) is not None:
            errors += validate_text_object(
                view[key], f"/view/{key}", MAX_BUTTON_TEXT, plain_only=True
            )
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("missing required field: blocks [json-pointer:/view]")
    else:
        errors += validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS, path="/view/blocks")
        has_inputs = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if kind == "modal" and has_inputs and view.get("submit") is None:
            errors.append("submit is required when a view has input blocks [json-pointer:/view]")
    for key, limit in _STRING_LIMITS.items():
        value = view.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(f"must provide a string [json-pointer:/view/{key}]")
        elif len(value) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:/view/{key}]")
    for key in ("clear_on_close", "notify_on_close"):
        if key in view and not isinstance(view[key], bool):
            errors.append(f"must be a boolean [json-pointer:/view/{key}]")
    if errors:
        raise ViewError("invalid_arguments", [f"[ERROR] {e}" for e in errors])


def assemble(
    view: dict[str, Any],
    *,
    bot: BotIdentity,
    view_id: str,
    view_hash: str,
    root_view_id: str | None,
    previous_view_id: str | None,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """The stored view as `views.*` return it; Slack fills in block and action ids."""
    is_modal = view.get("type") == "modal"
    return {
        "id": view_id,
        "team_id": bot.team_id,
        "type": view.get("type"),
        "title": _plain(view.get("title")),
        "submit": _plain(view.get("submit")) if is_modal else None,
        "close": _plain(view.get("close") or {"type": "plain_text", "text": "Cancel"})
        if is_modal
        else None,
        "blocks": fill_missing_ids(view.get("blocks") or [], new_id),
        "private_metadata": view.get("private_metadata") or "",
        "callback_id": view.get("callback_id") or "",
        "external_id": view.get("external_id") or "",
        "state": {"values": {}},
        "hash": view_hash,
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": root_view_id or view_id,
        "previous_view_id": previous_view_id,
        "app_id": bot.app_id,
        "app_installed_team_id": bot.team_id,
        "bot_id": bot.bot_id,
    }


def _plain(text: object) -> dict[str, Any] | None:
    """Slack echoes plain_text objects with `emoji: true` added."""
    if not isinstance(text, dict):
        return None
    return {"type": "plain_text", "emoji": True, **text}
