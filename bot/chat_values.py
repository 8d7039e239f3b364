"""Values the widget use cases hand to the WebSocket adapter, and attribution helpers.

Kept apart from the use cases so the adapter and the Slack relay can share
them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.domain.script import InputHint
from store.chat import Draft
from store.models import ChatMessage

QUALIFYING, LIVE, CLOSED = "qualifying", "live", "closed"
LIVE_INPUT: dict[str, Any] = {"kind": "text"}


@dataclass(frozen=True)
class Visit:
    """Where the visitor is: the page, how they got there, and its UTM parameters."""

    url: str | None = None
    referrer: str | None = None
    title: str | None = None
    utm: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatLine:
    """One message of a conversation as the visitor sees it."""

    seq: int
    author: str
    text: str
    at: datetime
    choices: tuple[str, ...] = ()
    name: str | None = None


@dataclass(frozen=True)
class ChatState:
    phase: str
    input: dict[str, Any] | None


@dataclass(frozen=True)
class Opened:
    token: str
    session_id: str
    resumed: bool
    history: list[ChatLine]
    state: ChatState


@dataclass(frozen=True)
class Said:
    """The result of a visitor message: its `seq`, whether it was a resend, what the bot said."""

    seq: int
    duplicate: bool
    replies: list[ChatLine]
    state: ChatState


def line_of(row: ChatMessage) -> ChatLine:
    return ChatLine(
        seq=row.seq,
        author=row.author,
        text=row.text,
        at=row.created_at,
        choices=tuple(row.choices or ()),
        name=row.author_name,
    )


def draft_line(seq: int, d: Draft, now: datetime) -> ChatLine:
    """The line a just-stored draft became (what `line_of` would read back)."""
    return ChatLine(
        seq=seq,
        author=d.author,
        text=d.text,
        at=now,
        choices=tuple(d.choices or ()),
        name=d.author_name,
    )


def hint_json(hint: InputHint | None) -> dict[str, Any] | None:
    if hint is None:
        return None
    out: dict[str, Any] = {"kind": hint.kind.value}
    if hint.choices:
        out["choices"] = list(hint.choices)
    if hint.placeholder:
        out["placeholder"] = hint.placeholder
    return out


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None


def touch_of(visit: Visit, now: datetime, *, first: bool = False) -> dict[str, Any] | None:
    """The visit as an attribution touch, or None when it carries none.

    A visit counts when it has UTM parameters or arrived from another site;
    moving between the site's own pages is not a new touch. A conversation's
    `first` visit always counts (a direct visit is a touch too).
    """
    referrer_host = host_of(visit.referrer)
    external = referrer_host is not None and referrer_host != host_of(visit.url)
    if not visit.utm and not external and not first:
        return None
    return {
        "at": now.isoformat(),
        "page": visit.url,
        "referrer": visit.referrer if external else None,
        "utm": dict(visit.utm),
    }


def source_of(touch: dict[str, Any]) -> str | None:
    """A lead's source: the touch's `utm_source`, else the referring site's host."""
    utm = touch.get("utm") or {}
    return utm.get("source") or host_of(touch.get("referrer"))
