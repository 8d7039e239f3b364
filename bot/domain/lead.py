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

#: States in which a rep owns the lead and is working it: they count against capacity.
OWNED_OPEN_STATES: frozenset[LeadState] = frozenset(
    {LeadState.CLAIMED, LeadState.CONTACTED, LeadState.QUALIFIED}
)

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
    reasons: tuple[str, ...] = ()  # the top scoring reasons, e.g. "+30 budget over $50k"
    offered_rep_id: str | None = None
    exclusive_until: datetime | None = None
    route_reason: str | None = None  # why this queue
    skipped: tuple[tuple[str, str], ...] = ()  # (rep id, why) passed over at the last offer
    first_contact_at: datetime | None = None
    lost_reason: str | None = None
    follow_up_at: datetime | None = None
    sla_status: str | None = None  # pending | met | missed | missed_contacted
    sla_due: datetime | None = None  # first contact due by (business hours counted)
    sla_elapsed: timedelta | None = None  # capture → first contact, business time
    sla_target: timedelta | None = None
    erased: bool = False  # the person's data was erased (`/leads forget`): no contact shown

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


class LeadAction(StrEnum):
    """What an owner (or a manager) can do to a claimed lead: the card's buttons."""

    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"
    NURTURE = "nurture"
    RELEASE = "release"


#: The states each action may start from; also the order of the card's buttons.
ACTION_FROM: dict[LeadAction, frozenset[LeadState]] = {
    LeadAction.CONTACTED: frozenset({LeadState.CLAIMED, LeadState.NURTURE}),
    LeadAction.QUALIFIED: frozenset({LeadState.CLAIMED, LeadState.CONTACTED, LeadState.NURTURE}),
    LeadAction.WON: OWNED_OPEN_STATES | {LeadState.NURTURE},
    LeadAction.LOST: OWNED_OPEN_STATES | {LeadState.NURTURE},
    LeadAction.NURTURE: OWNED_OPEN_STATES,
    LeadAction.RELEASE: OWNED_OPEN_STATES | {LeadState.NURTURE},
}

#: Where each action takes the lead (Release goes back to the queue: `offered` or `new`).
ACTION_TO: dict[LeadAction, LeadState | None] = {
    LeadAction.CONTACTED: LeadState.CONTACTED,
    LeadAction.QUALIFIED: LeadState.QUALIFIED,
    LeadAction.WON: LeadState.WON,
    LeadAction.LOST: LeadState.LOST,
    LeadAction.NURTURE: LeadState.NURTURE,
    LeadAction.RELEASE: None,
}


def actions_for(state: LeadState) -> tuple[LeadAction, ...]:
    """The buttons an owned lead in `state` shows, in card order."""
    return tuple(a for a, allowed in ACTION_FROM.items() if state in allowed)


def action_refusal(
    action: LeadAction, state: LeadState, *, actor: str, owner: str | None, manager: bool
) -> str | None:
    """Why `actor` may not do `action` now (a sentence for them), or None when they may."""
    if owner is None:
        return "Nobody owns this lead yet: claim it first."
    if actor != owner and not manager:
        return f"Only the lead's owner or a manager can mark it {action.value}."
    if state not in ACTION_FROM[action]:
        return f"This lead is {state.value}; it can't be marked {action.value} now."
    return None
