"""A real slack_bolt AsyncApp against the sandbox: the end-to-end contract check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sandbox_testkit import CARD, SECRET, TOKEN, serving_bolt
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


def build_bolt_app(api_url: str) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url), signing_secret=SECRET)

    @app.action("claim")
    async def on_claim(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["message"]["ts"],
            text=f"Claimed by <@{body['user']['id']}>",
            blocks=[],
        )

    @app.command("/leads")
    async def on_leads(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"you asked for {command['text']}")

    @app.event("message")
    async def on_message(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("thread_ts") and event["thread_ts"] != event["ts"]:
            await client.chat_postMessage(
                channel=event["channel"], thread_ts=event["thread_ts"], text="noted"
            )

    return app


@pytest.fixture
async def bolt(sb: Sandbox) -> AsyncIterator[AsyncApp]:
    async with serving_bolt(sb, build_bolt_app(sb.api_url)) as app:
        yield app


async def test_click_claim_updates_the_card(
    sb: Sandbox, client: AsyncWebClient, bolt: AsyncApp
) -> None:
    ts = (await client.chat_postMessage(channel="C0SALES", text="lead", blocks=CARD))["ts"]
    result = await sb.click_button("U0ALICE", "C0SALES", ts, label="Claim")
    assert result.status == 200 and result.acked_in_time
    await sb.wait_for_call("chat.update", lambda c: c.args["ts"] == ts)
    card = sb.get_message("C0SALES", ts)
    assert card.text == "Claimed by <@U0ALICE>" and card.blocks is None
    await sb.wait_for_call("auth.test")


async def test_slash_command_answers_through_response_url(sb: Sandbox, bolt: AsyncApp) -> None:
    result = await sb.send_slash_command("U0BOB", "C0SALES", "stats")
    assert result.status == 200
    await sb.wait_for_call("response_url")
    assert [m.text for m in sb.ephemerals("C0SALES", "U0BOB")] == ["you asked for stats"]


async def test_rep_reply_in_thread_reaches_the_message_listener(
    sb: Sandbox, client: AsyncWebClient, bolt: AsyncApp
) -> None:
    parent = (await client.chat_postMessage(channel="C0SALES", text="lead"))["ts"]
    await sb.post_user_message("U0BOB", "C0SALES", "called them", thread_ts=parent)
    [reply] = await sb.wait_for_call("chat.postMessage", lambda c: "thread_ts" in c.args)
    assert reply.args["thread_ts"] == parent and reply.args["text"] == "noted"


async def test_bolt_rejects_a_forged_request(sb: Sandbox, bolt: AsyncApp) -> None:
    body = b'{"type":"event_callback","event":{"type":"message"}}'
    result = await sb.send_raw(body, sb.sign(body, secret="forged"))
    assert result.status == 401 and result.json() == {"error": "invalid request"}
