"""chat.* through the real slack_sdk client: happy paths and every error code."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sandbox_testkit import CARD, error_of, http
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox

TS = re.compile(r"^\d{10}\.\d{6}$")


async def test_post_message_returns_slack_shape_and_stores_it(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    meta = {"event_type": "lead_posted", "event_payload": {"lead_id": "L1"}}
    res = await client.chat_postMessage(
        channel="C0SALES", text="New lead", blocks=CARD, metadata=meta
    )
    assert res["ok"] and res["channel"] == "C0SALES" and TS.match(res["ts"])
    message = res["message"]
    assert message["type"] == "message"
    assert (message["user"], message["bot_id"], message["ts"]) == ("UBOT", "BBOT", res["ts"])
    assert message["text"] == "New lead"
    assert message["metadata"] == meta
    assert message["blocks"][2]["elements"][0]["action_id"] == "claim"
    stored = sb.get_message("C0SALES", res["ts"])
    assert (stored.text, stored.metadata, stored.bot_id, stored.user) == (
        "New lead",
        meta,
        "BBOT",
        "UBOT",
    )
    assert stored.thread_ts is None and stored.edited == 0 and stored.ephemeral_for is None


async def test_responses_are_json_with_scopes_header(sb: Sandbox) -> None:
    res = await http(
        "POST", sb.api_url + "auth.test", headers={"Authorization": "Bearer xoxb-test"}
    )
    assert res.status == 200
    assert res.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "chat:write" in res.headers["x-oauth-scopes"].split(",")


async def test_ts_values_are_unique_and_increase(sb: Sandbox, client: AsyncWebClient) -> None:
    seen = []
    for i in range(6):
        channel = "C0SALES" if i % 2 else "C0PRIV"
        seen.append((await client.chat_postMessage(channel=channel, text=str(i)))["ts"])
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert [m.text for m in sb.messages("C0SALES")] == ["1", "3", "5"]


async def test_thread_replies_link_to_their_parent(sb: Sandbox, client: AsyncWebClient) -> None:
    parent = (await client.chat_postMessage(channel="C0SALES", text="card"))["ts"]
    reply = await client.chat_postMessage(channel="C0SALES", text="claimed", thread_ts=parent)
    assert reply["message"]["thread_ts"] == parent
    stored_parent = sb.get_message("C0SALES", parent)
    assert stored_parent.reply_count == 1 and stored_parent.thread_ts == parent
    assert [m.ts for m in sb.messages("C0SALES")] == [parent, reply["ts"]]
    assert sb.get_message("C0SALES", reply["ts"]).thread_ts == parent
    assert (
        error_of(
            await _call(client.chat_postMessage(channel="C0SALES", text="x", thread_ts="1.000001"))
        )
        == "thread_not_found"
    )


async def test_public_channel_without_membership_needs_chat_write_public(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    assert (await client.chat_postMessage(channel="C0OTHER", text="hi"))["ok"]
    narrow = Sandbox(bot_token="xoxb-test", scopes=("chat:write",), rate_limits=False)
    narrow.add_channel("C0OTHER", name="other", bot_is_member=False)
    await narrow.start()
    try:
        other = AsyncWebClient(token="xoxb-test", base_url=narrow.api_url)
        assert error_of(await _call(other.chat_postMessage(channel="C0OTHER", text="hi"))) == (
            "not_in_channel"
        )
    finally:
        await narrow.stop()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "G0HIDDEN", "text": "x"}, "channel_not_found"),
        ({"channel": "C0OLD", "text": "x"}, "is_archived"),
        ({"channel": "C0SALES", "text": ""}, "no_text"),
        ({"channel": "C0SALES", "blocks": "not json"}, "invalid_blocks_format"),
        ({"channel": "C0SALES", "blocks": '{"type": "divider"}'}, "invalid_blocks_format"),
        ({"channel": "C0SALES", "text": "x", "metadata": "{nope"}, "invalid_metadata_format"),
        ({"channel": "C0SALES", "attachments": [{"text": "a"}] * 101}, "too_many_attachments"),
    ],
)
async def test_post_message_errors(
    sb: Sandbox, client: AsyncWebClient, kwargs: dict[str, Any], code: str
) -> None:
    assert error_of(await _call(client.chat_postMessage(**kwargs))) == code
    assert sb.calls[-1].method == "chat.postMessage" and sb.calls[-1].response["error"] == code
    assert sb.messages("C0SALES") == []


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "divider"}] * 51, "/blocks"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "/blocks/0/text/text",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}
                    ],
                }
            ],
            "/blocks/0/elements/0/text/text",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "a",
                            "text": {"type": "plain_text", "text": "1"},
                        },
                        {
                            "type": "button",
                            "action_id": "a",
                            "text": {"type": "plain_text", "text": "2"},
                        },
                    ],
                }
            ],
            "/blocks/0/elements/1/action_id",
        ),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "/blocks/0/text/text"),
    ],
)
async def test_invalid_blocks_carry_pointer_errors(
    client: AsyncWebClient, blocks: list[dict[str, Any]], pointer: str
) -> None:
    err = await _call(client.chat_postMessage(channel="C0SALES", text="t", blocks=blocks))
    assert err.response["error"] == "invalid_blocks"
    assert any(f"[json-pointer:{pointer}]" in e for e in err.response["errors"])
    assert err.response["response_metadata"]["messages"][0].startswith("[ERROR] ")


async def test_form_arguments_and_json_string_values_are_read(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    res = await client.api_call(
        "chat.postMessage",
        data={
            "channel": "C0SALES",
            "text": "form",
            "blocks": '[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]',
            "metadata": '{"event_type": "lead", "event_payload": {"lead_id": "L9"}}',
        },
    )
    stored = sb.get_message("C0SALES", res["ts"])
    assert stored.blocks is not None and stored.blocks[0]["text"]["text"] == "hi"
    assert stored.metadata == {"event_type": "lead", "event_payload": {"lead_id": "L9"}}
    query = await client.api_call("chat.postMessage", params={"channel": "C0SALES", "text": "q"})
    assert sb.get_message("C0SALES", query["ts"]).text == "q"


async def test_long_text_is_truncated(sb: Sandbox, client: AsyncWebClient) -> None:
    res = await client.chat_postMessage(channel="C0SALES", text="x" * 40_010)
    assert len(sb.get_message("C0SALES", res["ts"]).text) == 40_000


async def test_posting_to_a_user_id_lands_in_their_dm(sb: Sandbox, client: AsyncWebClient) -> None:
    res = await client.chat_postMessage(channel="U0BOB", text="psst")
    assert res["channel"] == sb.dm_channel_for("U0BOB") == "D0BOB"
    assert [m.text for m in sb.messages("D0BOB")] == ["psst"]


async def test_missing_scope_names_needed_and_provided() -> None:
    narrow = Sandbox(bot_token="xoxb-test", scopes=("users:read",), rate_limits=False)
    narrow.add_channel("C0SALES", name="sales")
    await narrow.start()
    try:
        client = AsyncWebClient(token="xoxb-test", base_url=narrow.api_url)
        err = await _call(client.chat_postMessage(channel="C0SALES", text="x"))
        assert err.response["error"] == "missing_scope"
        assert (err.response["needed"], err.response["provided"]) == ("chat:write", "users:read")
    finally:
        await narrow.stop()


async def test_update_edits_the_bot_message(sb: Sandbox, client: AsyncWebClient) -> None:
    meta = {"event_type": "lead", "event_payload": {"lead_id": "L1"}}
    ts = (
        await client.chat_postMessage(channel="C0SALES", text="open", blocks=CARD, metadata=meta)
    )["ts"]
    res = await client.chat_update(
        channel="C0SALES", ts=ts, text="claimed by alice", blocks=CARD[:1]
    )
    assert (res["channel"], res["ts"], res["text"]) == ("C0SALES", ts, "claimed by alice")
    assert res["message"]["blocks"][0]["type"] == "header"
    stored = sb.get_message("C0SALES", ts)
    assert stored.text == "claimed by alice" and stored.edited == 1
    assert stored.blocks is not None and len(stored.blocks) == 1
    assert stored.metadata == meta  # kept when the update does not mention it


async def test_update_errors(sb: Sandbox, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel="C0SALES", text="open"))["ts"]
    human = await sb.post_user_message("U0ALICE", "C0SALES", "hello")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C0SALES", "ts": "1111111111.000001", "text": "x"}, "message_not_found"),
        ({"channel": "C0SALES", "ts": human.ts, "text": "x"}, "cant_update_message"),
        ({"channel": "C0SALES", "ts": ts, "text": "x" * 4001}, "msg_too_long"),
        ({"channel": "C0SALES", "ts": ts, "text": ""}, "no_text"),
        (
            {"channel": "C0SALES", "ts": ts, "text": "x", "blocks": [{"type": "nope"}]},
            "invalid_blocks",
        ),
        ({"channel": "C0NOPE", "ts": ts, "text": "x"}, "channel_not_found"),
    ]
    for kwargs, code in cases:
        assert error_of(await _call(client.chat_update(**kwargs))) == code, kwargs
    assert sb.get_message("C0SALES", ts).text == "open"


async def test_ephemeral_is_not_in_history(sb: Sandbox, client: AsyncWebClient) -> None:
    res = await client.chat_postEphemeral(channel="C0SALES", user="U0ALICE", text="only you")
    assert TS.match(res["message_ts"])
    assert sb.messages("C0SALES") == []
    assert (await client.conversations_history(channel="C0SALES"))["messages"] == []
    [eph] = sb.ephemerals("C0SALES", "U0ALICE")
    assert (eph.text, eph.ephemeral_for, eph.ts) == ("only you", "U0ALICE", res["message_ts"])
    assert sb.ephemerals(user_id="U0BOB") == []
    assert (
        error_of(await _call(client.chat_update(channel="C0SALES", ts=res["message_ts"], text="x")))
        == "message_not_found"
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"channel": "C0SALES", "user": "U0CAROL", "text": "x"}, "user_not_in_channel"),
        ({"channel": "C0NOPE", "user": "U0ALICE", "text": "x"}, "channel_not_found"),
        ({"channel": "C0SALES", "user": "U0ALICE", "text": ""}, "no_text"),
        (
            {"channel": "C0SALES", "user": "U0ALICE", "text": "x", "blocks": [{"type": "x"}]},
            "invalid_blocks",
        ),
    ],
)
async def test_ephemeral_errors(client: AsyncWebClient, kwargs: dict[str, Any], code: str) -> None:
    assert error_of(await _call(client.chat_postEphemeral(**kwargs))) == code


async def test_permalinks(client: AsyncWebClient) -> None:
    parent = (await client.chat_postMessage(channel="C0SALES", text="card"))["ts"]
    reply = (await client.chat_postMessage(channel="C0SALES", text="r", thread_ts=parent))["ts"]
    link = (await client.chat_getPermalink(channel="C0SALES", message_ts=parent))["permalink"]
    assert link == f"https://leadbot-demo.slack.com/archives/C0SALES/p{parent.replace('.', '')}"
    reply_link = (await client.chat_getPermalink(channel="C0SALES", message_ts=reply))["permalink"]
    assert reply_link.endswith(f"?thread_ts={parent}&cid=C0SALES")
    assert (
        error_of(await _call(client.chat_getPermalink(channel="C0SALES", message_ts="1.2")))
        == "message_not_found"
    )


async def test_auth_and_transport_errors(sb: Sandbox) -> None:
    assert error_of(await _call(AsyncWebClient(base_url=sb.api_url).auth_test())) == "not_authed"
    bad = AsyncWebClient(token="xoxb-wrong", base_url=sb.api_url)
    assert error_of(await _call(bad.auth_test())) == "invalid_auth"
    good = AsyncWebClient(token="xoxb-test", base_url=sb.api_url)
    assert error_of(await _call(good.api_call("chat.nope"))) == "unknown_method"
    res = await http(
        "POST",
        sb.api_url + "chat.postMessage",
        data=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-test"},
    )
    assert res.status == 200
    assert res.json() == {"ok": False, "error": "invalid_json"}


async def test_every_call_is_recorded_and_can_be_awaited(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    waiter = asyncio.create_task(
        sb.wait_for_call("chat.postMessage", lambda c: c.args.get("text") == "second")
    )
    await client.chat_postMessage(channel="C0SALES", text="first")
    await _call(client.chat_postMessage(channel="C0NOPE", text="second"))
    assert not waiter.done()
    await client.chat_postMessage(channel="C0SALES", text="second")
    [call] = await waiter
    assert call.status == 200 and call.response["ok"] and call.at > 0
    assert [c.response["ok"] for c in sb.calls] == [True, False, True]
    assert sb.calls[1].args == {"channel": "C0NOPE", "text": "second"}


async def test_wait_for_call_times_out_with_what_it_saw(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    await _call(client.chat_postMessage(channel="C0NOPE", text="x"))
    with pytest.raises(TimeoutError) as caught:
        await sb.wait_for_call("chat.postMessage", timeout=0.05)
    assert "channel_not_found" in str(caught.value)


async def _call(coro: Any) -> SlackApiError:
    """Await a call that must fail, returning the SDK's error."""
    with pytest.raises(SlackApiError) as caught:
        await coro
    return caught.value
