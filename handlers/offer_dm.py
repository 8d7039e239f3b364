"""The outbox's handler for `dm_offer` rows: the offered rep's DM with the lead's card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.domain.lead import LeadSnapshot, LeadState
from bot.outbox import PermanentSlackError, PostedCopy, RenderedMessage
from store.models import OutboxMessage


class DirectSender(Protocol):
    async def post_message(
        self, channel: str, message: RenderedMessage, metadata: dict[str, object] | None
    ) -> str: ...


class OfferDMs:
    def __init__(
        self,
        clock: Clock,
        sender: DirectSender,
        render: Callable[[LeadSnapshot, datetime], RenderedMessage],
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._render = render

    async def deliver(self, row: OutboxMessage, lead: LeadSnapshot | None) -> PostedCopy | None:
        """DM the rep, unless the offer has already moved on (claimed, re-offered).

        `lead`: as the dispatcher read it when it leased the row (None: it no longer exists)."""
        rep = str(row.payload.get("rep") or "")
        if row.lead_id is None or not rep:
            raise PermanentSlackError(f"dm row {row.id} without a lead or rep")
        if lead is None:
            raise PermanentSlackError(f"lead {row.lead_id} no longer exists")
        if lead.state is not LeadState.OFFERED or lead.offered_rep_id != rep:
            return None  # stale: a DM now would offer a lead that is no longer theirs
        # A user id as the channel posts in the app's DM with that user.
        # No card metadata: the channel card alone is "the lead's card".
        ts = await self._sender.post_message(rep, self._render(lead, self._clock.now()), None)
        return rep, ts
