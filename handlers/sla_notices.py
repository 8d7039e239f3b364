"""The outbox's handler for `sla_notice` rows: nags and escalations, drawn from the stored lead.

The nag's words come from the ladder (`bot/domain/sla.py: nag_text`, plain text
without prospect data); the lead's name is escaped here. A DM nag carries the
lead's card, so the rep can claim or work it from the DM; the channel call
(`here`) carries the Claim button; an escalation names who had the lead.

Each notice carries its outbox row's id in its metadata. A notice to a channel
whose earlier attempt may have reached Slack (a crash or timeout mid-call) is
looked up by it before it is posted again, as cards are (`bot/outbox.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.domain.lead import LeadSnapshot
from bot.outbox import PermanentSlackError, PostedCopy, RenderedMessage
from handlers.cards import display_name, mention, safe_mrkdwn
from store.models import OutboxMessage

NOTICE_EVENT_TYPE = "leadbot_sla_notice"


class NoticeSender(Protocol):
    async def post_message(
        self, channel: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> str: ...

    async def find_message_by_metadata(
        self, channel: str, event_type: str, key: str, value: str, oldest: datetime
    ) -> str | None: ...


def render_notice(
    lead: LeadSnapshot,
    text: str,
    card: RenderedMessage,
    *,
    here: bool,
    escalation: bool,
) -> RenderedMessage:
    """One nag or escalation about `lead`: the ladder's words, who it is, and what to do."""
    name = safe_mrkdwn(display_name(lead), 200)
    words = safe_mrkdwn(text, 1000)
    if escalation:
        holder = (
            f"owned by {mention(lead.owner_id)}"
            if lead.owner_id
            else f"offered to {mention(lead.offered_rep_id)}"
            if lead.offered_rep_id
            else "never claimed"
        )
        queue = f" in *{safe_mrkdwn(lead.queue_name, 80)}*" if lead.queue_name else ""
        line = f":warning: {words}\n*{name}* (lead #{lead.id}){queue}, {holder}."
        blocks: list[dict[str, Any]] = [
            {"type": "section", "block_id": "sla_notice", "text": {"type": "mrkdwn", "text": line}}
        ]
        return RenderedMessage(text=f"SLA missed: lead #{lead.id}", blocks=blocks)
    prefix = "<!here> :rotating_light: " if here else ":alarm_clock: "
    line = f"{prefix}{words}\n*{name}* (lead #{lead.id})"
    intro = {"type": "section", "block_id": "sla_notice", "text": {"type": "mrkdwn", "text": line}}
    if here:
        actions = [b for b in card.blocks if b.get("type") == "actions"]
        return RenderedMessage(text=f"Lead #{lead.id} open to anyone", blocks=[intro, *actions])
    return RenderedMessage(text=f"Lead #{lead.id}: {words}", blocks=[intro, *card.blocks])


class SlaNotices:
    def __init__(
        self,
        clock: Clock,
        sender: NoticeSender,
        render_card: Callable[[LeadSnapshot, datetime], RenderedMessage],
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._render_card = render_card

    async def deliver(self, row: OutboxMessage, lead: LeadSnapshot | None) -> PostedCopy | None:
        """Post the nag or escalation with the lead's card; `lead`: as the dispatcher read
        it when it leased the row (None: it no longer exists)."""
        payload = row.payload
        to = str(payload.get("to") or "")
        if row.lead_id is None or not to:
            raise PermanentSlackError(f"sla notice {row.id} without a lead or recipient")
        if lead is None:
            raise PermanentSlackError(f"lead {row.lead_id} no longer exists")
        card = self._render_card(lead, self._clock.now())
        message = render_notice(
            lead,
            str(payload.get("text") or ""),
            card,
            here=bool(payload.get("here")),
            escalation=bool(payload.get("escalation")),
        )
        metadata = {"event_type": NOTICE_EVENT_TYPE, "event_payload": {"notice": str(row.id)}}
        # A DM's history needs its D… id, which a user id does not give: only channels
        # are looked up (a DM nag may repeat after a crash mid-call).
        if row.attempts > 1 and to.startswith(("C", "G")):
            found = await self._sender.find_message_by_metadata(
                to, NOTICE_EVENT_TYPE, "notice", str(row.id), row.created_at - timedelta(minutes=5)
            )
            if found is not None:
                return to, found
        return to, await self._sender.post_message(to, message, metadata)
