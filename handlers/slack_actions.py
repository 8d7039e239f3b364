"""Block action listeners: ack at once, call one use case, tell the clicker what happened."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.leads import ClaimResult, Leads
from handlers.cards import CLAIM_ACTION_ID, mention

log = logging.getLogger(__name__)


def claim_refusal(result: ClaimResult, clicker: str) -> str:
    """What a clicker who did not get the lead is told, ephemerally."""
    if not result.found:
        return "That lead no longer exists."
    if result.owner_id == clicker:
        return "You already own this lead."
    if result.owner_id:
        return f"Already claimed by {mention(result.owner_id)}."
    return "This lead can't be claimed any more."


def _channel_of(body: dict[str, Any]) -> str | None:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return str(channel) if channel else None


def register(app: AsyncApp, leads: Leads) -> None:
    async def on_claim(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        clicker = str(body["user"]["id"])
        channel = _channel_of(body)
        try:
            lead_id = int(action.get("value", ""))
        except ValueError:
            log.warning("claim click with a bad lead id value")
            return
        result = await leads.claim(lead_id, clicker)
        if result.won or channel is None:
            return
        await client.chat_postEphemeral(
            channel=channel, user=clicker, text=claim_refusal(result, clicker)
        )

    app.action(CLAIM_ACTION_ID)(on_claim)
