"""Block action and modal listeners: ack at once, call one use case, tell the clicker what happened.

Buttons carry the lead id as their value. `Lost` and `Nurture` first open a
modal (`views.open` with the click's `trigger_id`); its submission is checked
here and answered with field errors (`response_action: errors`) when it is
incomplete, so the modal stays open for the rep to fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.domain.lead import LeadAction
from bot.lead_work import ActionResult, LeadWork
from bot.leads import ClaimResult, Leads
from handlers.cards import ACTION_IDS, CLAIM_ACTION_ID, mention
from handlers.lead_modals import (
    LOST_CALLBACK,
    NURTURE_CALLBACK,
    lost_modal,
    nurture_modal,
    read_lost,
    read_nurture,
)

log = logging.getLogger(__name__)


def claim_refusal(result: ClaimResult, clicker: str) -> str:
    """What a clicker who did not get the lead is told, ephemerally."""
    if not result.found:
        return "That lead no longer exists."
    if result.refusal:
        return result.refusal
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


def _lead_id(action: dict[str, Any]) -> int | None:
    try:
        return int(action.get("value", ""))
    except ValueError:
        log.warning("button click with a bad lead id value")
        return None


def register(app: AsyncApp, leads: Leads, work: LeadWork, today: Callable[[], date]) -> None:
    """`today` is the workspace's local date (a follow-up must come after it)."""

    async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
        channel = _channel_of(body)
        if channel is None:
            return
        try:
            await client.chat_postEphemeral(
                channel=channel, user=str(body["user"]["id"]), text=text
            )
        except SlackApiError as err:
            # Anyone may read (and click in) a public channel without joining it, but
            # chat.postEphemeral only reaches members: the click's response_url reaches them all.
            if err.response.get("error") != "user_not_in_channel" or not body.get("response_url"):
                raise
            await AsyncWebhookClient(str(body["response_url"])).send(
                text=text, response_type="ephemeral", replace_original=False
            )

    async def on_claim(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        clicker = str(body["user"]["id"])
        lead_id = _lead_id(action)
        if lead_id is None:
            return
        result = await leads.claim(lead_id, clicker)
        if not result.won:
            await tell(client, body, claim_refusal(result, clicker))

    app.action(CLAIM_ACTION_ID)(on_claim)

    def on_work(lead_action: LeadAction) -> Any:
        async def listener(
            ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
        ) -> None:
            await ack()
            clicker = str(body["user"]["id"])
            lead_id = _lead_id(action)
            if lead_id is None:
                return
            if lead_action in (LeadAction.LOST, LeadAction.NURTURE):
                checked = await work.check(lead_id, lead_action, clicker)
                if checked.refusal:
                    await tell(client, body, checked.refusal)
                    return
                modal = lost_modal if lead_action is LeadAction.LOST else nurture_modal
                await client.views_open(trigger_id=body["trigger_id"], view=modal(lead_id))
                return
            result = await work.act(lead_id, lead_action, clicker)
            await report(client, body, lead_action, result)

        return listener

    async def report(
        client: AsyncWebClient, body: dict[str, Any], lead_action: LeadAction, result: ActionResult
    ) -> None:
        if result.refusal:
            await tell(client, body, result.refusal)
        elif lead_action is LeadAction.RELEASE:
            to = mention(result.offered_to) if result.offered_to else "the whole channel"
            await tell(client, body, f"Released: the lead is offered to {to}.")

    for lead_action, action_id in ACTION_IDS.items():
        app.action(action_id)(on_work(lead_action))

    async def on_lost(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = read_lost(view)
        if form.errors:
            await ack(response_action="errors", errors=form.errors)
            return
        result = await work.act(
            form.lead_id, LeadAction.LOST, str(body["user"]["id"]), reason=form.reason
        )
        if result.refusal:
            await ack(response_action="errors", errors={form.first_block: result.refusal})
            return
        await ack()

    async def on_nurture(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = read_nurture(view, today())
        if form.errors:
            await ack(response_action="errors", errors=form.errors)
            return
        result = await work.act(
            form.lead_id,
            LeadAction.NURTURE,
            str(body["user"]["id"]),
            follow_up=form.follow_up,
            reason=form.note,
        )
        if result.refusal:
            await ack(response_action="errors", errors={form.first_block: result.refusal})
            return
        await ack()

    app.view(LOST_CALLBACK)(on_lost)
    app.view(NURTURE_CALLBACK)(on_nurture)


def local_today(tz: Any, now: Callable[[], datetime]) -> Callable[[], date]:
    """The workspace's date today, for checking follow-up dates."""
    return lambda: now().astimezone(tz).date()
