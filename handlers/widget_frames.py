"""The widget protocol's frames (docs/widget-protocol.md): parsing and rendering. Pure.

Parsing refuses a frame before anything touches the database: a refused
frame is never half-stored. Extra fields are ignored (newer widgets may send
more); missing or wrongly typed ones are `bad_frame`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.chat_values import ChatLine, ChatState, Visit

MAX_TEXT = 2000
MAX_CLIENT_ID = 64
MAX_TOKEN = 256
MAX_URL = 2048
MAX_UTM = 200
UTM_KEYS = ("source", "medium", "campaign", "term", "content")


class FrameError(Exception):
    """A refused frame; `code` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


@dataclass(frozen=True)
class Hello:
    token: str | None
    visit: Visit


@dataclass(frozen=True)
class Say:
    text: str
    client_id: str


@dataclass(frozen=True)
class PageView:
    visit: Visit


@dataclass(frozen=True)
class Read:
    up_to: int


@dataclass(frozen=True)
class Simple:
    """`typing` and `ping`: frames with no fields."""

    type: str


Frame = Hello | Say | PageView | Read | Simple


def _bad(message: str, client_id: str | None = None) -> FrameError:
    return FrameError("bad_frame", message, client_id)


def _opt_str(obj: dict[str, Any], key: str, where: str, limit: int) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{where}.{key} must be a string")
    return value[:limit] or None


def _visit(frame: dict[str, Any], *, page_required: bool) -> Visit:
    page = frame.get("page")
    if page is None and not page_required:
        page = {}
    if not isinstance(page, dict):
        raise _bad("page must be an object with url, referrer and title")
    utm = frame.get("utm")
    if utm is None:
        utm = {}
    if not isinstance(utm, dict):
        raise _bad("utm must be an object of strings")
    url = _opt_str(page, "url", "page", MAX_URL)
    if page_required and url is None:
        raise _bad("page.url is required")
    utms = {key: _opt_str(utm, key, "utm", MAX_UTM) for key in UTM_KEYS}
    return Visit(
        url=url,
        referrer=_opt_str(page, "referrer", "page", MAX_URL),
        title=_opt_str(page, "title", "page", 300),
        utm={key: value for key, value in utms.items() if value},
    )


def parse_frame(raw: str) -> Frame:
    """One client frame, or FrameError with the protocol's code."""
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        raise FrameError("bad_json", "A frame must be one JSON object.") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_json", "A frame must be one JSON object.")
    kind = frame.get("type")
    if kind == "hello":
        token = frame.get("token")
        if token is not None and not isinstance(token, str):
            raise _bad("hello.token must be a string")
        return Hello(token[:MAX_TOKEN] if token else None, _visit(frame, page_required=False))
    if kind == "message":
        return _say(frame)
    if kind == "page_view":
        return PageView(_visit(frame, page_required=True))
    if kind == "read":
        up_to = frame.get("up_to")
        if not isinstance(up_to, int) or isinstance(up_to, bool) or up_to < 0:
            raise _bad("read.up_to must be a whole number >= 0")
        return Read(up_to)
    if kind in ("typing", "ping"):
        return Simple(kind)
    raise _bad(f"unknown frame type {str(kind)[:40]!r}")


def _say(frame: dict[str, Any]) -> Say:
    client_id = frame.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise _bad("message.client_id must be a string of 1-64 characters")
    text = frame.get("text")
    if not isinstance(text, str):
        raise _bad("message.text must be a string", client_id)
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise FrameError("too_long", "A message must be 1-2000 characters.", client_id)
    return Say(text, client_id)


# ---------------------------------------------------------------------- server → client


def message_frame(line: ChatLine) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "message",
        "seq": line.seq,
        "author": line.author,
        "text": line.text,
        "at": line.at.isoformat().replace("+00:00", "Z"),
    }
    if line.choices:
        out["choices"] = list(line.choices)
    if line.name:
        out["name"] = line.name
    return out


def history_entry(line: ChatLine) -> dict[str, Any]:
    entry = message_frame(line)
    del entry["type"]
    return entry


def state_frame(state: ChatState) -> dict[str, Any]:
    return {"type": "state", "phase": state.phase, "input": state.input}


def error_frame(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        out["client_id"] = client_id
    return out
