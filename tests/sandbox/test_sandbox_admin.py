"""Admin HTTP endpoints, the page, and the standalone entry point."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox_testkit import CARD, Receiver, http
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox
from sandbox.__main__ import apply_seed, parse_args


async def test_state_lists_users_channels_and_messages(sb: Sandbox, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel="C0SALES", text="card", blocks=CARD))["ts"]
    await client.chat_postMessage(channel="C0SALES", text="reply", thread_ts=ts)
    state = (await http("GET", f"{sb.base_url}/_sandbox/state")).json()
    assert {u["id"] for u in state["users"]} >= {"U0ALICE", "U0BOB"}
    sales = next(c for c in state["channels"] if c["id"] == "C0SALES")
    assert [m["text"] for m in sales["messages"]] == ["card", "reply"]
    assert sales["messages"][0]["reply_count"] == 1
    assert state["bot"]["user_id"] == "UBOT"


async def test_calls_can_be_filtered(sb: Sandbox, client: AsyncWebClient) -> None:
    await client.auth_test()
    await client.chat_postMessage(channel="C0SALES", text="x")
    calls = (await http("GET", f"{sb.base_url}/_sandbox/calls?method=auth.test")).json()
    assert [c["method"] for c in calls["calls"]] == ["auth.test"]


async def test_calls_since_a_cursor_are_only_the_new_ones(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="C0SALES", text="first")
    first = (await http("GET", f"{sb.base_url}/_sandbox/calls?method=chat.postMessage")).json()
    assert [c["args"]["text"] for c in first["calls"]] == ["first"]
    await client.auth_test()
    await client.chat_postMessage(channel="C0SALES", text="second")
    url = f"{sb.base_url}/_sandbox/calls?method=chat.postMessage&since={first['next']}"
    later = (await http("GET", url)).json()
    assert [c["args"]["text"] for c in later["calls"]] == ["second"]
    assert later["next"] == first["next"] + 2
    for bad in ("-1", "two"):
        res = await http("GET", f"{sb.base_url}/_sandbox/calls?since={bad}")
        assert res.status == 400 and "since" in res.json()["error"]


async def test_faults_over_http(sb: Sandbox, client: AsyncWebClient) -> None:
    url = f"{sb.base_url}/_sandbox/faults"
    res = await http("POST", url, json={"method": "auth.test", "status": 503, "times": 1})
    assert res.json()["faults"][0]["status"] == 503
    assert (await http("POST", sb.api_url + "auth.test")).status == 503
    await http("POST", url, json={"method": "auth.test", "status": 500})
    assert (await http("POST", url, json={"clear": True})).json()["faults"] == []
    assert (await client.auth_test())["ok"]
    assert (await http("POST", url, json={"method": "x", "status": 404})).status == 400


async def test_click_command_and_reply_over_http(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    ts = (await client.chat_postMessage(channel="C0SALES", text="card", blocks=CARD))["ts"]
    base = f"{sb.base_url}/_sandbox"
    click = await http(
        "POST",
        f"{base}/click",
        json={"user": "U0BOB", "channel": "C0SALES", "ts": ts, "label": "Pass"},
    )
    assert click.json()["status"] == 200
    assert (await receiver.next()).payload()["actions"][0]["action_id"] == "pass"
    command = await http(
        "POST", f"{base}/command", json={"user": "U0BOB", "channel": "C0SALES", "text": "list"}
    )
    assert command.json()["ok"]
    assert (await receiver.next()).form()["text"] == "list"
    reply = await http(
        "POST",
        f"{base}/reply",
        json={"user": "U0BOB", "channel": "C0SALES", "thread_ts": ts, "text": "done"},
    )
    assert sb.get_message("C0SALES", reply.json()["ts"]).thread_ts == ts
    assert (await receiver.next()).json()["event"]["thread_ts"] == ts
    missing = await http(
        "POST",
        f"{base}/click",
        json={"user": "U0BOB", "channel": "C0SALES", "ts": ts, "label": "Nope"},
    )
    assert missing.status == 404 and missing.json()["error"] == "not_found"


async def test_page_is_served_and_renders_text_safely(sb: Sandbox) -> None:
    page = await http("GET", f"{sb.base_url}/")
    assert page.status == 200 and page.content_type == "text/html"
    assert "Slack sandbox" in page.text and "/_sandbox/state" in page.text
    assert "innerHTML" not in page.text


def test_seed_file_and_arguments(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "users": [{"id": "U1", "name": "ann", "real_name": "Ann", "tz": "Europe/Paris"}],
                "channels": [{"id": "C1", "name": "leads", "members": ["U1"], "is_private": False}],
            }
        )
    )
    options = parse_args(
        [
            "--signing-secret",
            "S",
            "--bot-token",
            "xoxb-1",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--request-url",
            "http://127.0.0.1:1/slack/events",
        ]
    )
    assert (options.port, options.host, options.bot_token) == (0, "127.0.0.1", "xoxb-1")
    sb = Sandbox()
    apply_seed(sb, json.loads(seed.read_text()))
    assert sb.workspace.users["U1"].tz == "Europe/Paris"
    assert sb.workspace.channels["C1"].members == ["U1"]
