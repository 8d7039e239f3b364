"""Signed requests to the bot: clicks, commands, events, user messages."""

from __future__ import annotations

import json
import re
import time

import pytest
from aiohttp import web
from sandbox_testkit import CARD, SECRET, TOKEN, Received, Receiver, make_sandbox
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


async def test_click_button_sends_a_signed_block_actions_payload(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    ts = (await client.chat_postMessage(channel="C0SALES", text="lead", blocks=CARD))["ts"]
    result = await sb.click_button("U0ALICE", "C0SALES", ts, label="Pass")
    assert result.status == 200 and result.elapsed >= 0
    request = await receiver.next()
    assert request.signature_valid
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.raw.startswith(b"payload=")
    payload = request.payload()
    assert payload["type"] == "block_actions"
    assert payload["user"] == {
        "id": "U0ALICE",
        "username": "alice",
        "name": "alice",
        "team_id": "T0001",
    }
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C0SALES",
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": "C0SALES", "name": "sales"}
    assert payload["team"]["id"] == "T0001" and payload["api_app_id"] == "A0SANDBOX"
    assert payload["token"] and payload["trigger_id"]
    assert payload["state"] == {"values": {}}
    assert payload["message"]["ts"] == ts and payload["message"]["bot_id"] == "BBOT"
    assert payload["message"]["blocks"] == sb.get_message("C0SALES", ts).blocks
    assert payload["response_url"].startswith(f"{sb.base_url}/response_url/")
    [action] = payload["actions"]
    assert action["type"] == "button"
    assert (action["action_id"], action["block_id"], action["value"]) == (
        "pass",
        "lead_actions",
        "L1",
    )
    assert action["text"]["text"] == "Pass" and action["text"]["type"] == "plain_text"
    assert re.match(r"^\d{10}\.\d{6}$", action["action_ts"])
    assert "style" not in action


async def test_click_finds_accessory_buttons_and_ignores_case(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    ts = (await client.chat_postMessage(channel="C0SALES", text="lead", blocks=CARD))["ts"]
    await sb.click_button("U0BOB", "C0SALES", ts, label="details")
    action = (await receiver.next()).payload()["actions"][0]
    assert action["action_id"] == "details" and action["block_id"].startswith("sb")
    await sb.click_button("U0BOB", "C0SALES", ts)  # "Claim" by default
    assert (await receiver.next()).payload()["actions"][0]["style"] == "primary"
    with pytest.raises(LookupError, match="Snooze"):
        await sb.click_button("U0BOB", "C0SALES", ts, label="Snooze")
    with pytest.raises(LookupError):
        await sb.click_button("U0BOB", "C0SALES", "1111111111.000001")


async def test_click_in_a_dm_and_in_an_ephemeral(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    dm = (await client.conversations_open(users="U0BOB"))["channel"]["id"]
    ts = (await client.chat_postMessage(channel=dm, text="yours?", blocks=CARD))["ts"]
    await sb.click_button("U0BOB", dm, ts, label="Claim")
    payload = (await receiver.next()).payload()
    assert payload["channel"] == {"id": dm, "name": "directmessage"}
    eph = (
        await client.chat_postEphemeral(channel="C0SALES", user="U0ALICE", text="e", blocks=CARD)
    )["message_ts"]
    await sb.click_button("U0ALICE", "C0SALES", eph, label="Claim")
    payload = (await receiver.next()).payload()
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    with pytest.raises(LookupError):  # someone else's ephemeral is invisible
        await sb.click_button("U0BOB", "C0SALES", eph, label="Claim")


async def test_slash_command_is_a_bare_signed_form(sb: Sandbox, receiver: Receiver) -> None:
    result = await sb.send_slash_command("U0ALICE", "C0SALES", "stats week")
    assert result.status == 200
    request = await receiver.next()
    assert request.signature_valid
    assert request.raw.startswith(b"token=")  # not a JSON string
    form = request.form()
    assert {
        k: form[k]
        for k in (
            "command",
            "text",
            "user_id",
            "user_name",
            "channel_id",
            "channel_name",
            "team_id",
            "team_domain",
            "api_app_id",
        )
    } == {
        "command": "/leads",
        "text": "stats week",
        "user_id": "U0ALICE",
        "user_name": "alice",
        "channel_id": "C0SALES",
        "channel_name": "sales",
        "team_id": "T0001",
        "team_domain": "leadbot-demo",
        "api_app_id": "A0SANDBOX",
    }
    assert form["response_url"].startswith(f"{sb.base_url}/response_url/")
    assert form["trigger_id"] and form["token"]


async def test_send_event_wraps_in_an_envelope_with_retry_headers(
    sb: Sandbox, receiver: Receiver
) -> None:
    event = {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}
    await sb.send_event(event)
    first = await receiver.next()
    assert first.signature_valid and first.headers["Content-Type"] == "application/json"
    envelope = first.json()
    assert envelope["type"] == "event_callback" and envelope["event"] == event
    assert re.match(r"^Ev\w+$", envelope["event_id"])
    assert isinstance(envelope["event_time"], int)
    assert envelope["authorizations"][0]["user_id"] == "UBOT"
    assert "X-Slack-Retry-Num" not in first.headers
    await sb.send_event(event, event_id=envelope["event_id"], retry_num=1)
    retry = await receiver.next()
    assert retry.json()["event_id"] == envelope["event_id"]
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"


async def test_user_message_is_stored_escaped_and_delivered(
    sb: Sandbox, receiver: Receiver
) -> None:
    message = await sb.post_user_message("U0ALICE", "C0SALES", "a < b & <!channel>")
    assert message.text == "a &lt; b &amp; &lt;!channel&gt;"
    assert message.bot_id is None and message.user == "U0ALICE"
    assert sb.messages("C0SALES") == [message]
    event = (await receiver.next()).json()["event"]
    assert event["type"] == "message" and "subtype" not in event and "bot_id" not in event
    assert (event["text"], event["user"], event["channel"], event["channel_type"]) == (
        message.text,
        "U0ALICE",
        "C0SALES",
        "channel",
    )
    assert event["ts"] == event["event_ts"] == message.ts and event["client_msg_id"]
    assert event["blocks"][0]["type"] == "rich_text"
    assert sb.deliveries[-1].result is not None and sb.deliveries[-1].result.status == 200


async def test_thread_reply_event_carries_parent(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    parent = (await client.chat_postMessage(channel="C0SALES", text="card"))["ts"]
    reply = await sb.post_user_message("U0BOB", "C0SALES", "on it", thread_ts=parent)
    event = (await receiver.next()).json()["event"]
    assert (event["thread_ts"], event["parent_user_id"], event["ts"]) == (parent, "UBOT", reply.ts)
    assert "bot_id" not in event
    assert sb.get_message("C0SALES", parent).reply_count == 1


async def test_mentioning_the_bot_also_sends_app_mention(sb: Sandbox, receiver: Receiver) -> None:
    await sb.post_user_message("U0ALICE", "C0SALES", "@leadbot stats")
    message_event = (await receiver.next()).json()["event"]
    mention = (await receiver.next()).json()["event"]
    assert message_event["text"] == "<@UBOT> stats"
    assert mention["type"] == "app_mention" and mention["text"] == "<@UBOT> stats"


async def test_no_event_where_the_bot_is_not_a_member(sb: Sandbox, receiver: Receiver) -> None:
    await sb.post_user_message("U0ALICE", "C0OTHER", "psst")
    assert receiver.requests.empty() and sb.deliveries == []
    with pytest.raises(ValueError, match="not a member"):
        await sb.post_user_message("U0CAROL", "C0SALES", "hi")


async def test_bot_posts_echo_as_message_events_when_enabled() -> None:
    sb = make_sandbox(echo_bot_messages=True)
    bot = Receiver()
    await sb.start()
    sb.request_url = await bot.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=sb.api_url)
        ts = (await client.chat_postMessage(channel="C0SALES", text="card"))["ts"]
        event = (await bot.next()).json()["event"]
        assert (event["bot_id"], event["user"], event["ts"]) == ("BBOT", "UBOT", ts)
        assert event["bot_profile"]["id"] == "BBOT" and "subtype" not in event
    finally:
        await sb.stop()
        await bot.stop()


async def test_tampered_stale_and_wrongly_keyed_requests_fail(
    sb: Sandbox, receiver: Receiver
) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "x"}}).encode()
    good = sb.sign(body)
    assert SignatureVerifier(SECRET).is_valid(
        body, good["X-Slack-Request-Timestamp"], good["X-Slack-Signature"]
    )
    cases = {
        "tampered": (body + b" ", good),
        "wrong secret": (body, sb.sign(body, secret="not-the-secret")),
        "stale": (body, sb.sign(body, timestamp=int(time.time()) - 301)),
    }
    for name, (raw, headers) in cases.items():
        result = await sb.send_raw(raw, headers)
        assert result.status == 401, name
        assert not (await receiver.next()).signature_valid
    assert (await sb.send_raw(body, good)).status == 200


async def test_url_verification_and_ack_timing(sb: Sandbox, receiver: Receiver) -> None:
    async def echo_challenge(request: Received) -> web.Response:
        return web.json_response({"challenge": request.json()["challenge"]})

    receiver.reply = echo_challenge
    result = await sb.send_url_verification("c-123")
    assert result.json() == {"challenge": "c-123"}
    assert result.acked_in_time and result.elapsed < 3
    assert (await receiver.next()).json()["type"] == "url_verification"


async def test_without_request_url_inbound_calls_say_so(sb: Sandbox) -> None:
    with pytest.raises(RuntimeError, match="request_url"):
        await sb.send_slash_command("U0ALICE", "C0SALES", "")
    message = await sb.post_user_message("U0ALICE", "C0SALES", "stored anyway")
    assert sb.messages("C0SALES") == [message]
    assert sb.deliveries[-1].error == "no request_url"
