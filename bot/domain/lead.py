"""Lead lifecycle values: states, snapshots for rendering, claim decisions. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class LeadState(StrEnum):
    NEW = "new"
    OFFERED = "offered"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"
    NURTURE = "nurture"
    SPAM = "spam"


#: States in which nobody owns the lead yet, so a claim may take it.
CLAIMABLE_STATES: frozenset[LeadState] = frozenset({LeadState.NEW, LeadState.OFFERED})

#: States a lead does not leave for a returning person: they get a new lead instead.
CLOSED_STATES: frozenset[LeadState] = frozenset({LeadState.WON, LeadState.LOST, LeadState.SPAM})


@dataclass(frozen=True)
class LeadSnapshot:
    """Everything a renderer needs to draw a lead card, read from the store in one go."""

    id: int
    state: LeadState
    captured_at: datetime
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    source: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    utm: dict[str, Any] = field(default_factory=dict)
    score: int = 0
    grade: str | None = None
    queue_name: str | None = None
    owner_id: str | None = None
    claimed_at: datetime | None = None
    merged_count: int = 0
    intake: str | None = None  # api | widget | import
    asked_for_human: bool = False

    @property
    def is_chat(self) -> bool:
        """A website-chat lead: replies in its card's thread reach the visitor."""
        return self.intake == "widget"

    @property
    def time_to_claim(self) -> timedelta | None:
        if self.claimed_at is None:
            return None
        return self.claimed_at - self.captured_at


def format_duration(delta: timedelta) -> str:
    """Short human duration: `45s`, `3m 05s`, `2h 04m`, `3d 2h`."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
