"""reactions.* through the real slack_sdk client: stored as Slack shows them, and every error."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_testkit import TOKEN, error_of, make_sandbox
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from sandbox.api_reactions import MAX_DISTINCT_EMOJI, MAX_REACTIONS_PER_USER
from sandbox.models import Reaction


async def failure(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return error_of(info.value)


async def post(client: AsyncWebClient, channel: str = "C0SALES") -> str:
    return str((await client.chat_postMessage(channel=channel, text="New lead"))["ts"])


async def test_add_stores_the_reaction_without_counting_an_edit(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    ts = await post(client)
    assert (await client.reactions_add(channel="C0SALES", timestamp=ts, name=":eyes:"))["ok"]
    stored = sb.get_message("C0SALES", ts)
    assert stored.to_api()["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]
    assert stored.edited == 0 and "edited" not in stored.to_api()
    got = await client.reactions_get(channel="C0SALES", timestamp=ts, full=True)
    assert (got["type"], got["channel"], got["message"]["ts"]) == ("message", "C0SALES", ts)
    assert got["message"]["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]
    history = await client.conversations_history(channel="C0SALES")
    assert history["messages"][0]["reactions"][0]["name"] == "eyes"


async def test_reactions_keep_first_added_order_and_count_users(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    ts = await post(client)
    sb.workspace.replace("C0SALES", ts, reactions=(Reaction("tada", ("U0ALICE",)),))
    await client.reactions_add(channel="C0SALES", timestamp=ts, name="white_check_mark")
    await client.reactions_add(channel="C0SALES", timestamp=ts, name="tada")
    assert sb.get_message("C0SALES", ts).to_api()["reactions"] == [
        {"name": "tada", "users": ["U0ALICE", "UBOT"], "count": 2},
        {"name": "white_check_mark", "users": ["UBOT"], "count": 1},
    ]
    await client.reactions_remove(channel="C0SALES", timestamp=ts, name="tada")
    await client.reactions_remove(channel="C0SALES", timestamp=ts, name="white_check_mark")
    assert sb.get_message("C0SALES", ts).to_api()["reactions"] == [
        {"name": "tada", "users": ["U0ALICE"], "count": 1}
    ]


async def test_remove_the_last_reaction_clears_the_field(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    ts = await post(client)
    await client.reactions_add(channel="C0SALES", timestamp=ts, name="eyes")
    await client.reactions_remove(channel="C0SALES", timestamp=ts, name=":eyes:")
    assert "reactions" not in sb.get_message("C0SALES", ts).to_api()


async def test_chat_update_keeps_reactions(sb: Sandbox, client: AsyncWebClient) -> None:
    ts = await post(client)
    await client.reactions_add(channel="C0SALES", timestamp=ts, name="eyes")
    await client.chat_update(channel="C0SALES", ts=ts, text="Claimed")
    stored = sb.get_message("C0SALES", ts)
    assert stored.text == "Claimed" and stored.edited == 1
    assert [r.name for r in stored.reactions] == ["eyes"]


async def test_reacting_to_a_thread_reply(sb: Sandbox, client: AsyncWebClient) -> None:
    parent = await post(client)
    reply = (await client.chat_postMessage(channel="C0SALES", text="r", thread_ts=parent))["ts"]
    await client.reactions_add(channel="C0SALES", timestamp=reply, name="+1")
    assert [r.name for r in sb.get_message("C0SALES", reply).reactions] == ["+1"]
    assert sb.get_message("C0SALES", parent).reactions == ()


async def test_already_reacted_and_no_reaction(client: AsyncWebClient) -> None:
    ts = await post(client)
    await client.reactions_add(channel="C0SALES", timestamp=ts, name="eyes")
    assert await failure(client.reactions_add(channel="C0SALES", timestamp=ts, name="eyes")) == (
        "already_reacted"
    )
    assert await failure(client.reactions_remove(channel="C0SALES", timestamp=ts, name="tada")) == (
        "no_reaction"
    )
    await client.reactions_remove(channel="C0SALES", timestamp=ts, name="eyes")
    assert await failure(client.reactions_remove(channel="C0SALES", timestamp=ts, name="eyes")) == (
        "no_reaction"
    )


async def test_no_reaction_when_only_someone_else_reacted(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    ts = await post(client)
    sb.workspace.replace("C0SALES", ts, reactions=(Reaction("tada", ("U0ALICE",)),))
    assert await failure(client.reactions_remove(channel="C0SALES", timestamp=ts, name="tada")) == (
        "no_reaction"
    )


@pytest.mark.parametrize("name", ["", "Thumbs Up", "tada!", "a:b", "eyes::skin-tone-9", ":"])
async def test_invalid_names(client: AsyncWebClient, name: str) -> None:
    ts = await post(client)
    error = await failure(client.reactions_add(channel="C0SALES", timestamp=ts, name=name))
    assert error == "invalid_name"


@pytest.mark.parametrize("name", ["+1", "-1", "e-mail", "don't", "+1::skin-tone-3", ":100:"])
async def test_valid_names(sb: Sandbox, client: AsyncWebClient, name: str) -> None:
    ts = await post(client)
    await client.reactions_add(channel="C0SALES", timestamp=ts, name=name)
    assert [r.name for r in sb.get_message("C0SALES", ts).reactions] == [name.strip(":")]


@pytest.mark.parametrize("method", ["reactions.add", "reactions.remove", "reactions.get"])
async def test_lookup_errors(sb: Sandbox, client: AsyncWebClient, method: str) -> None:
    ts = await post(client)
    old = sb.workspace.post("C0OLD", "archived", user="U0ALICE").ts

    async def error(**params: str) -> str:
        return await failure(client.api_call(method, params={"name": "eyes", **params}))

    assert await error(channel="C0SALES", timestamp="1000000000.000001") == "message_not_found"
    assert await error(channel="C0NOPE", timestamp=ts) == "channel_not_found"
    assert await error(channel="G0HIDDEN", timestamp=ts) == "channel_not_found"
    assert await error(channel="C0SALES") == "no_item_specified"
    assert await error(timestamp=ts) == "no_item_specified"
    if method != "reactions.get":
        assert await error(channel="C0OLD", timestamp=old) == "is_archived"


async def test_too_many_reactions_by_one_user(sb: Sandbox, client: AsyncWebClient) -> None:
    ts = await post(client)
    for i in range(MAX_REACTIONS_PER_USER):
        await client.reactions_add(channel="C0SALES", timestamp=ts, name=f"e{i}")
    error = await failure(client.reactions_add(channel="C0SALES", timestamp=ts, name="one_more"))
    assert error == "too_many_reactions"
    assert len(sb.get_message("C0SALES", ts).reactions) == MAX_REACTIONS_PER_USER


async def test_too_many_distinct_emoji_on_a_message(sb: Sandbox, client: AsyncWebClient) -> None:
    ts = await post(client)
    others = tuple(Reaction(f"e{i}", ("U0ALICE",)) for i in range(MAX_DISTINCT_EMOJI))
    sb.workspace.replace("C0SALES", ts, reactions=others)
    error = await failure(client.reactions_add(channel="C0SALES", timestamp=ts, name="new_one"))
    assert error == "too_many_emoji"
    await client.reactions_add(channel="C0SALES", timestamp=ts, name="e0")  # joining is fine
    assert sb.get_message("C0SALES", ts).reactions[0].users == ("U0ALICE", "UBOT")


async def test_reactions_need_their_scopes() -> None:
    narrow = make_sandbox(scopes=("chat:write",))
    await narrow.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=narrow.api_url)
        ts = await post(client)
        with pytest.raises(SlackApiError) as info:
            await client.reactions_add(channel="C0SALES", timestamp=ts, name="eyes")
        assert (error_of(info.value), info.value.response["needed"]) == (
            "missing_scope",
            "reactions:write",
        )
        with pytest.raises(SlackApiError) as info:
            await client.reactions_get(channel="C0SALES", timestamp=ts)
        assert info.value.response["needed"] == "reactions:read"
    finally:
        await narrow.stop()
