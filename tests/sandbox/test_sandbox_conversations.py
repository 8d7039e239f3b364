"""auth.test, conversations.* and users.* through the real slack_sdk client."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


async def _error(coro: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await coro  # type: ignore[misc]
    return str(caught.value.response["error"])


async def test_auth_test_identity(client: AsyncWebClient) -> None:
    res = await client.auth_test()
    assert {k: res[k] for k in ("team_id", "user_id", "bot_id", "team")} == {
        "team_id": "T0001",
        "user_id": "UBOT",
        "bot_id": "BBOT",
        "team": "leadbot-demo",
    }
    assert res["url"] == "https://leadbot-demo.slack.com/"
    assert "im:write" in res.headers["x-oauth-scopes"]


async def test_open_dm_is_stable_and_reports_reopen(sb: Sandbox, client: AsyncWebClient) -> None:
    first = await client.conversations_open(users="U0ALICE")
    assert first["channel"] == {"id": "D0ALICE"} and "already_open" not in first.data
    again = await client.conversations_open(users="U0ALICE", return_im=True)
    assert again["channel"]["id"] == "D0ALICE" and again["channel"]["is_im"] is True
    assert again["channel"]["user"] == "U0ALICE"
    assert again["already_open"] is True and again["no_op"] is True
    assert sb.dm_channel_for("U0ALICE") == "D0ALICE" and sb.dm_channel_for("U0BOB") is None
    await client.chat_postMessage(channel="D0ALICE", text="your lead")
    assert [m.text for m in sb.messages("D0ALICE")] == ["your lead"]


async def test_open_errors(client: AsyncWebClient) -> None:
    assert await _error(client.conversations_open(users="U0NOBODY")) == "user_not_found"
    assert await _error(client.api_call("conversations.open", params={})) == (
        "users_list_not_supplied"
    )


async def test_history_is_newest_first_and_hides_replies(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    first = (await client.chat_postMessage(channel="C0SALES", text="one"))["ts"]
    await client.chat_postMessage(channel="C0SALES", text="reply", thread_ts=first)
    await client.chat_postMessage(channel="C0SALES", text="two")
    res = await client.conversations_history(channel="C0SALES")
    assert [m["text"] for m in res["messages"]] == ["two", "one"]
    assert res["messages"][1]["reply_count"] == 1
    assert res["has_more"] is False and res["response_metadata"]["next_cursor"] == ""


async def test_history_metadata_only_on_request(client: AsyncWebClient) -> None:
    meta = {"event_type": "lead_posted", "event_payload": {"lead_id": "L7"}}
    await client.chat_postMessage(channel="C0SALES", text="card", metadata=meta)
    plain = await client.conversations_history(channel="C0SALES")
    assert "metadata" not in plain["messages"][0]
    with_json_bool = await client.conversations_history(
        channel="C0SALES", include_all_metadata=True
    )
    assert with_json_bool["messages"][0]["metadata"] == meta
    with_form_flag = await client.api_call(
        "conversations.history",
        http_verb="GET",
        params={"channel": "C0SALES", "include_all_metadata": "1"},
    )
    assert with_form_flag["messages"][0]["metadata"] == meta


async def test_history_pages_find_a_card_by_lead_id(client: AsyncWebClient) -> None:
    """How the bot recovers a card it posted before a crash."""
    posted = {}
    for i in range(7):
        meta = {"event_type": "lead_posted", "event_payload": {"lead_id": f"L{i}"}}
        posted[f"L{i}"] = (
            await client.chat_postMessage(channel="C0SALES", text=f"card {i}", metadata=meta)
        )["ts"]
    pages, cursor, found = [], None, None
    while True:
        res = await client.conversations_history(
            channel="C0SALES", limit=3, cursor=cursor, include_all_metadata=True
        )
        pages.append([m["text"] for m in res["messages"]])
        for message in res["messages"]:
            if message["metadata"]["event_payload"]["lead_id"] == "L1":
                found = message["ts"]
        cursor = res["response_metadata"]["next_cursor"]
        assert res["has_more"] is bool(cursor)
        if not cursor:
            break
    assert pages == [["card 6", "card 5", "card 4"], ["card 3", "card 2", "card 1"], ["card 0"]]
    assert found == posted["L1"]


async def test_history_pages_do_not_shift_when_new_messages_arrive(
    client: AsyncWebClient,
) -> None:
    for i in range(4):
        await client.chat_postMessage(channel="C0SALES", text=str(i))
    first = await client.conversations_history(channel="C0SALES", limit=2)
    await client.chat_postMessage(channel="C0SALES", text="new")
    second = await client.conversations_history(
        channel="C0SALES", limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in second["messages"]] == ["1", "0"]


async def test_history_window_and_errors(client: AsyncWebClient) -> None:
    a = (await client.chat_postMessage(channel="C0SALES", text="a"))["ts"]
    b = (await client.chat_postMessage(channel="C0SALES", text="b"))["ts"]
    only_b = await client.conversations_history(channel="C0SALES", oldest=a)
    assert [m["text"] for m in only_b["messages"]] == ["b"]
    both = await client.conversations_history(channel="C0SALES", oldest=a, latest=b, inclusive=True)
    assert [m["text"] for m in both["messages"]] == ["b", "a"]
    assert await _error(client.conversations_history(channel="C0NOPE")) == "channel_not_found"
    assert await _error(client.conversations_history(channel="C0OTHER")) == "not_in_channel"
    assert await _error(client.conversations_history(channel="C0SALES", cursor="bogus")) == (
        "invalid_cursor"
    )


async def test_members_and_pagination(client: AsyncWebClient) -> None:
    res = await client.conversations_members(channel="C0SALES")
    assert res["members"] == ["U0ALICE", "U0BOB", "UBOT"]
    page = await client.conversations_members(channel="C0SALES", limit=2)
    rest = await client.conversations_members(
        channel="C0SALES", limit=2, cursor=page["response_metadata"]["next_cursor"]
    )
    assert page["members"] + rest["members"] == res["members"]
    assert rest["response_metadata"]["next_cursor"] == ""
    assert await _error(client.conversations_members(channel="C0NOPE")) == "channel_not_found"


async def test_users_info(client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U0ALICE"))["user"]
    assert (user["id"], user["name"], user["real_name"], user["tz"]) == (
        "U0ALICE",
        "alice",
        "Alice Example",
        "Europe/Berlin",
    )
    assert user["profile"]["email"] == "alice@example.com"
    assert user["is_bot"] is False and isinstance(user["tz_offset"], int)
    assert await _error(client.users_info(user="U0NOBODY")) == "user_not_found"


async def test_users_info_hides_email_without_scope() -> None:
    sb = Sandbox(bot_token="xoxb-test", scopes=("users:read",), rate_limits=False)
    sb.add_user("U1", name="dana")
    await sb.start()
    try:
        client = AsyncWebClient(token="xoxb-test", base_url=sb.api_url)
        assert "email" not in (await client.users_info(user="U1"))["user"]["profile"]
    finally:
        await sb.stop()
