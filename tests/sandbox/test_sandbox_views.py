"""Modals and the Home tab: `views.*` through slack_sdk, submissions and closes to a fake bot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from sandbox_testkit import (
    SECRET,
    TOKEN,
    FakeClock,
    Received,
    Receiver,
    error_of,
    http,
    make_sandbox,
    serving_bolt,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import Sandbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sb(clock: FakeClock) -> AsyncIterator[Sandbox]:
    """The shared workspace on a fake monotonic clock, so triggers expire without sleeping."""
    sandbox = make_sandbox(clock=clock)
    await sandbox.start(port=0)
    yield sandbox
    await sandbox.stop()


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": plain(text or value.title()), "value": value}


def modal(**extra: Any) -> dict[str, Any]:
    """A lead form with one of each input element the sandbox renders."""
    blocks = [
        {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "*New lead*"}},
        {
            "type": "input",
            "block_id": "company",
            "label": plain("Company"),
            "element": {"type": "plain_text_input", "action_id": "name"},
        },
        {
            "type": "input",
            "block_id": "notes",
            "optional": True,
            "label": plain("Notes"),
            "element": {
                "type": "plain_text_input",
                "action_id": "text",
                "multiline": True,
                "initial_value": "called once",
            },
        },
        {
            "type": "input",
            "block_id": "size",
            "label": plain("Size"),
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "options": [option("small"), option("large")],
                "initial_option": option("small"),
            },
        },
        {
            "type": "input",
            "block_id": "due",
            "optional": True,
            "label": plain("Follow up on"),
            "element": {"type": "datepicker", "action_id": "date"},
        },
        {
            "type": "input",
            "block_id": "channel",
            "optional": True,
            "label": plain("Source"),
            "element": {
                "type": "radio_buttons",
                "action_id": "source",
                "options": [option("web"), option("phone")],
            },
        },
        {
            "type": "input",
            "block_id": "flags",
            "optional": True,
            "label": plain("Flags"),
            "element": {
                "type": "checkboxes",
                "action_id": "tags",
                "options": [option("hot"), option("partner")],
            },
        },
    ]
    view = {
        "type": "modal",
        "callback_id": "lead_form",
        "title": plain("New lead"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": "L1",
        "blocks": blocks,
    }
    view.update(extra)
    return view


def small_modal(title: str = "Step", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(title),
        "blocks": [{"type": "section", "text": plain("hello")}],
        **extra,
    }


async def new_trigger(sb: Sandbox, receiver: Receiver, user: str = "U0ALICE") -> str:
    """A trigger_id as the bot gets it: from a slash command's signed form."""
    await sb.send_slash_command(user, "C0SALES", "new")
    return (await receiver.next()).form()["trigger_id"]


def answer(body: dict[str, Any] | None, status: int = 200) -> Callable[[Received], Any]:
    async def reply(_: Received) -> web.Response:
        if body is None:
            return web.Response(status=status)
        return web.json_response(body, status=status)

    return reply


async def fails(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# -- views.open and triggers ---------------------------------------------------


async def test_open_returns_the_view_as_slack_does(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    trigger = await new_trigger(sb, receiver)
    view = (await client.views_open(trigger_id=trigger, view=modal()))["view"]
    assert view["id"].startswith("V") and view["type"] == "modal"
    assert view["team_id"] == "T0001" and view["app_id"] == "A0SANDBOX"
    assert view["bot_id"] == "BBOT"
    assert view["title"] == {"type": "plain_text", "text": "New lead", "emoji": True}
    assert view["submit"]["text"] == "Save" and view["close"]["text"] == "Cancel"
    assert (view["callback_id"], view["private_metadata"]) == ("lead_form", "L1")
    assert view["state"] == {"values": {}} and view["hash"]
    assert view["root_view_id"] == view["id"] and view["previous_view_id"] is None
    assert view["external_id"] == ""
    assert [b["block_id"] for b in view["blocks"]][:2] == ["intro", "company"]
    assert sb.open_views("U0ALICE") == [view]
    assert sb.open_views("U0BOB") == []


async def test_open_takes_form_encoded_view_and_interactivity_pointer(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    pointer = await new_trigger(sb, receiver, "U0BOB")
    response = await client.api_call(
        "views.open",
        data={"interactivity_pointer": pointer, "view": json.dumps(small_modal("Form"))},
    )
    assert response["view"]["title"]["text"] == "Form"
    trigger = await new_trigger(sb, receiver, "U0BOB")
    response = await client.api_call(
        "views.open", params={"trigger_id": trigger, "view": json.dumps(small_modal("Query"))}
    )
    assert [v["title"]["text"] for v in sb.open_views("U0BOB")] == ["Query"]


async def test_trigger_ids_are_issued_once_and_live_three_seconds(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver, clock: FakeClock
) -> None:
    err = await fails(client.views_open(trigger_id="1.2.made-up", view=small_modal()))
    assert error_of(err) == "invalid_trigger_id"

    trigger = await new_trigger(sb, receiver)
    clock.advance(3.0)  # exactly 3 s is still in time
    await client.views_open(trigger_id=trigger, view=small_modal())
    err = await fails(client.views_open(trigger_id=trigger, view=small_modal()))
    assert error_of(err) == "exchanged_trigger_id"

    late = await new_trigger(sb, receiver)
    clock.advance(3.01)
    err = await fails(client.views_open(trigger_id=late, view=small_modal()))
    assert error_of(err) == "expired_trigger_id"

    err = await fails(client.api_call("views.open", json={"view": small_modal()}))
    assert error_of(err) == "invalid_arguments"


async def test_button_clicks_issue_triggers_too(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    blocks = [
        {
            "type": "actions",
            "elements": [{"type": "button", "action_id": "go", "text": plain("Go")}],
        }
    ]
    ts = (await client.chat_postMessage(channel="C0SALES", text="x", blocks=blocks))["ts"]
    await sb.click_button("U0BOB", "C0SALES", ts, label="Go")
    trigger = (await receiver.next()).payload()["trigger_id"]
    await client.views_open(trigger_id=trigger, view=small_modal())
    assert len(sb.open_views("U0BOB")) == 1 and sb.open_views("U0ALICE") == []


def _blocks(n: int) -> list[dict[str, Any]]:
    return [{"type": "divider"} for _ in range(n)]


def _with_input(element: dict[str, Any]) -> dict[str, Any]:
    block = {"type": "input", "block_id": "x", "label": plain("X"), "element": element}
    return small_modal(submit=plain("Go"), blocks=[block])


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (small_modal("A title that is 25 chars!"), "/view/title/text"),
        (small_modal(submit=plain("x" * 25)), "/view/submit/text"),
        (small_modal(close={"type": "mrkdwn", "text": "Bye"}), "/view/close/type"),
        (small_modal(blocks=_blocks(101)), "/view/blocks"),
        (small_modal(private_metadata="m" * 3001), "/view/private_metadata"),
        (small_modal(callback_id="c" * 256), "/view/callback_id"),
        ({**small_modal(), "type": "home"}, "/view/type"),
        ({"type": "modal", "blocks": []}, "/view"),
        (_with_input({"type": "button", "text": plain("No")}), "/view/blocks/0/element/type"),
        (
            _with_input({"type": "static_select", "options": [option(str(i)) for i in range(101)]}),
            "/view/blocks/0/element/options",
        ),
        (
            _with_input({"type": "static_select", "options": [option("a", "t" * 76)]}),
            "/view/blocks/0/element/options/0/text/text",
        ),
        (
            _with_input({"type": "datepicker", "initial_date": "01/02/2026"}),
            "/view/blocks/0/element/initial_date",
        ),
        (
            small_modal(
                blocks=[
                    {"type": "input", "label": plain("X"), "element": {"type": "plain_text_input"}}
                ]
            ),
            "/view",  # input blocks need a submit button
        ),
    ],
)
async def test_invalid_views_are_refused_with_json_pointers(
    sb: Sandbox,
    client: AsyncWebClient,
    receiver: Receiver,
    view: dict[str, Any],
    pointer: str,
) -> None:
    trigger = await new_trigger(sb, receiver)
    err = await fails(client.views_open(trigger_id=trigger, view=view))
    assert error_of(err) == "invalid_arguments"
    messages = err.response["response_metadata"]["messages"]
    assert any(
        m.startswith("[ERROR] ") and m.endswith(f"[json-pointer:{pointer}]") for m in messages
    ), messages
    # A refused view does not burn the trigger: the bot can fix it and retry.
    await client.views_open(trigger_id=trigger, view=small_modal())


async def test_title_error_reads_like_slack(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    trigger = await new_trigger(sb, receiver)
    err = await fails(client.views_open(trigger_id=trigger, view=small_modal("t" * 25)))
    assert err.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]


async def test_a_hundred_blocks_pass_and_over_250_kb_is_too_large(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await client.views_open(
        trigger_id=await new_trigger(sb, receiver), view=small_modal(blocks=_blocks(100))
    )
    big = [{"type": "section", "text": plain("x" * 2900)} for _ in range(90)]
    err = await fails(
        client.views_open(trigger_id=await new_trigger(sb, receiver), view=small_modal(blocks=big))
    )
    assert error_of(err) == "view_too_large"
    fits = [{"type": "section", "text": plain("x" * 2900)} for _ in range(80)]
    await client.views_open(
        trigger_id=await new_trigger(sb, receiver), view=small_modal(blocks=fits)
    )


# -- views.update and views.push ------------------------------------------------


async def test_update_checks_hash_and_view_id(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    trigger = await new_trigger(sb, receiver)
    first = (await client.views_open(trigger_id=trigger, view=modal(external_id="lead-1")))["view"]
    second = (
        await client.views_update(
            view_id=first["id"],
            hash=first["hash"],
            view=small_modal("Two", external_id="lead-1"),
        )
    )["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    assert second["title"]["text"] == "Two"
    err = await fails(
        client.views_update(view_id=first["id"], hash=first["hash"], view=small_modal("Three"))
    )
    assert error_of(err) == "hash_conflict"
    third = (await client.views_update(external_id="lead-1", view=small_modal("Three")))["view"]
    assert third["id"] == first["id"] and sb.open_views("U0ALICE") == [third]
    err = await fails(client.views_update(view_id="V0NOPE", view=small_modal()))
    assert error_of(err) == "not_found"
    err = await fails(client.api_call("views.update", json={"view": small_modal()}))
    assert error_of(err) == "invalid_arguments"
    err = await fails(client.views_update(view_id=first["id"], view=small_modal("t" * 25)))
    assert error_of(err) == "invalid_arguments"


async def test_push_stacks_up_to_three_views(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    err = await fails(
        client.views_push(trigger_id=await new_trigger(sb, receiver), view=small_modal())
    )
    assert error_of(err) == "not_found"  # nothing open to push onto
    root = (
        await client.views_open(trigger_id=await new_trigger(sb, receiver), view=small_modal())
    )["view"]
    two = (await client.views_push(trigger_id=await new_trigger(sb, receiver), view=small_modal()))[
        "view"
    ]
    three = (
        await client.views_push(
            interactivity_pointer=await new_trigger(sb, receiver), view=small_modal()
        )
    )["view"]
    assert two["root_view_id"] == root["id"] and two["previous_view_id"] == root["id"]
    assert three["root_view_id"] == root["id"] and three["previous_view_id"] == two["id"]
    err = await fails(
        client.views_push(trigger_id=await new_trigger(sb, receiver), view=small_modal())
    )
    assert error_of(err) == "push_limit_reached"
    assert [v["id"] for v in sb.open_views("U0ALICE")] == [root["id"], two["id"], three["id"]]


async def test_external_ids_are_unique(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    view = small_modal(external_id="only-one")
    await client.views_open(trigger_id=await new_trigger(sb, receiver), view=view)
    err = await fails(
        client.views_open(trigger_id=await new_trigger(sb, receiver, "U0BOB"), view=view)
    )
    assert error_of(err) == "duplicate_external_id"


# -- views.publish ----------------------------------------------------------------


def home(text: str = "Your leads") -> dict[str, Any]:
    return {"type": "home", "blocks": [{"type": "section", "text": plain(text)}]}


async def test_publish_sets_the_home_tab(sb: Sandbox, client: AsyncWebClient) -> None:
    first = (await client.views_publish(user_id="U0BOB", view=home()))["view"]
    assert first["type"] == "home" and first["id"].startswith("V")
    second = (await client.views_publish(user_id="U0BOB", view=home("Two"), hash=first["hash"]))[
        "view"
    ]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    err = await fails(client.views_publish(user_id="U0BOB", view=home(), hash=first["hash"]))
    assert error_of(err) == "hash_conflict"
    err = await fails(client.views_publish(user_id="U0NOBODY", view=home()))
    assert error_of(err) == "user_not_found"
    err = await fails(client.views_publish(user_id="U0BOB", view=small_modal()))
    assert error_of(err) == "invalid_arguments"
    assert sb.home_view("U0BOB") == second
    state = (await http("GET", f"{sb.base_url}/_sandbox/state")).json()
    assert [v["id"] for v in state["views"]["U0BOB"]] == [first["id"]]


async def test_publish_needs_the_home_tab_enabled() -> None:
    sandbox = make_sandbox(home_tab_enabled=False)
    await sandbox.start(port=0)
    try:
        client = AsyncWebClient(token=TOKEN, base_url=sandbox.api_url)
        err = await fails(client.views_publish(user_id="U0BOB", view=home()))
        assert error_of(err) == "not_enabled"
    finally:
        await sandbox.stop()


# -- submissions -------------------------------------------------------------------


async def open_form(sb: Sandbox, client: AsyncWebClient, receiver: Receiver, **extra: Any) -> Any:
    trigger = await new_trigger(sb, receiver)
    return (await client.views_open(trigger_id=trigger, view=modal(**extra)))["view"]


async def test_submission_is_a_signed_view_submission_payload(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    view = await open_form(sb, client, receiver)
    values = {
        "company": {"name": "ACME & Co"},
        "size": {"pick": "large"},
        "due": {"date": "2026-05-01"},
        "channel": {"source": "phone"},
        "flags": {"tags": ["hot", "partner"]},
    }
    result = await sb.submit_view("U0ALICE", values)
    request = await receiver.next()
    assert request.signature_valid
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = request.payload()
    assert payload["type"] == "view_submission"
    assert payload["user"] == {
        "id": "U0ALICE",
        "username": "alice",
        "name": "alice",
        "team_id": "T0001",
    }
    assert payload["team"]["id"] == "T0001" and payload["api_app_id"] == "A0SANDBOX"
    assert payload["token"] and payload["response_urls"] == []
    sent = payload["view"]
    assert (sent["id"], sent["callback_id"], sent["hash"]) == (
        view["id"],
        "lead_form",
        view["hash"],
    )
    assert sent["state"]["values"] == {
        "company": {"name": {"type": "plain_text_input", "value": "ACME & Co"}},
        "notes": {"text": {"type": "plain_text_input", "value": "called once"}},
        "size": {"pick": {"type": "static_select", "selected_option": option("large")}},
        "due": {"date": {"type": "datepicker", "selected_date": "2026-05-01"}},
        "channel": {"source": {"type": "radio_buttons", "selected_option": option("phone")}},
        "flags": {
            "tags": {"type": "checkboxes", "selected_options": [option("hot"), option("partner")]}
        },
    }
    # The submission's trigger works once the modal has closed, as bots use it.
    await client.views_open(trigger_id=payload["trigger_id"], view=small_modal("Next"))
    assert result.outcome == "closed" and result.inbound is not None
    assert result.inbound.status == 200


async def test_empty_ack_closes_the_modal(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    result = await sb.submit_view("U0ALICE", {"company": {"name": "ACME"}})
    assert result.outcome == "closed" and result.view is None
    assert sb.open_views("U0ALICE") == []
    empty = (await receiver.next()).payload()["view"]["state"]["values"]
    assert empty["due"]["date"] == {"type": "datepicker", "selected_date": None}
    assert empty["flags"]["tags"]["selected_options"] == []


async def test_errors_ack_keeps_the_modal_open_with_field_errors(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    view = await open_form(sb, client, receiver)
    receiver.reply = answer({"response_action": "errors", "errors": {"company": "Unknown"}})
    result = await sb.submit_view("U0ALICE", {"company": {"name": "???"}})
    assert result.outcome == "errors" and result.errors == {"company": "Unknown"}
    [still] = sb.open_views("U0ALICE")
    assert still["id"] == view["id"]
    state = (await http("GET", f"{sb.base_url}/_sandbox/state")).json()
    [shown] = state["views"]["U0ALICE"]
    assert shown["errors"] == {"company": "Unknown"}
    # What the person typed stays in the form for the next try.
    receiver.reply = answer(None)
    await receiver.next()
    await sb.submit_view("U0ALICE")
    again = (await receiver.next()).payload()["view"]["state"]["values"]
    assert again["company"]["name"]["value"] == "???"


async def test_errors_for_unknown_blocks_are_rejected(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    receiver.reply = answer({"response_action": "errors", "errors": {"intro": "no"}})
    result = await sb.submit_view("U0ALICE", {"company": {"name": "x"}})
    assert result.outcome == "rejected" and result.problem and "intro" in result.problem
    assert len(sb.open_views("U0ALICE")) == 1


async def test_clear_ack_closes_every_modal(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    await client.views_push(trigger_id=await new_trigger(sb, receiver), view=small_modal())
    receiver.reply = answer({"response_action": "clear"})
    result = await sb.submit_view("U0ALICE")
    assert result.outcome == "cleared" and sb.open_views("U0ALICE") == []


async def test_update_ack_replaces_the_view(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    view = await open_form(sb, client, receiver)
    receiver.reply = answer({"response_action": "update", "view": small_modal("Thanks")})
    result = await sb.submit_view("U0ALICE", {"company": {"name": "ACME"}})
    [now] = sb.open_views("U0ALICE")
    assert result.outcome == "updated" and now["id"] == view["id"]
    assert now["title"]["text"] == "Thanks" and now["hash"] != view["hash"]


async def test_push_ack_pushes_and_an_invalid_view_is_recorded(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    view = await open_form(sb, client, receiver)
    receiver.reply = answer({"response_action": "push", "view": small_modal("t" * 25)})
    result = await sb.submit_view("U0ALICE", {"company": {"name": "ACME"}})
    assert result.outcome == "rejected" and result.problem is not None
    assert "/view/title/text" in result.problem and len(sb.open_views("U0ALICE")) == 1
    await receiver.next()
    receiver.reply = answer({"response_action": "push", "view": small_modal("Step 2")})
    result = await sb.submit_view("U0ALICE")
    stack = sb.open_views("U0ALICE")
    assert result.outcome == "pushed" and [v["title"]["text"] for v in stack] == [
        "New lead",
        "Step 2",
    ]
    assert stack[1]["previous_view_id"] == view["id"]


async def test_a_failed_ack_leaves_the_modal_open(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    receiver.reply = answer({"error": "boom"}, status=500)
    result = await sb.submit_view("U0ALICE", {"company": {"name": "ACME"}})
    assert result.outcome == "failed" and result.problem
    assert len(sb.open_views("U0ALICE")) == 1


async def test_a_blank_required_field_is_not_sent(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    result = await sb.submit_view("U0ALICE", {"company": {"name": ""}})
    assert result.outcome == "required_missing" and result.inbound is None
    assert result.errors == {"company": "This field is required."}
    assert receiver.requests.empty()
    with pytest.raises(ValueError, match="nope"):
        await sb.submit_view("U0ALICE", {"nope": {"x": "y"}})
    with pytest.raises(ValueError, match="medium"):
        await sb.submit_view("U0ALICE", {"size": {"pick": "medium"}})


# -- closing -------------------------------------------------------------------------


async def test_close_notifies_only_when_asked(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    result = await sb.close_view("U0ALICE")
    assert result.outcome == "closed" and result.inbound is None
    assert receiver.requests.empty() and sb.open_views("U0ALICE") == []

    view = await open_form(sb, client, receiver, notify_on_close=True)
    result = await sb.close_view("U0ALICE")
    request = await receiver.next()
    assert request.signature_valid
    payload = request.payload()
    assert payload["type"] == "view_closed" and payload["is_cleared"] is False
    assert payload["view"]["id"] == view["id"] and payload["user"]["id"] == "U0ALICE"
    assert result.inbound is not None and sb.open_views("U0ALICE") == []


async def test_closing_a_clear_on_close_view_clears_the_stack(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    pushed = small_modal(clear_on_close=True, notify_on_close=True)
    await client.views_push(trigger_id=await new_trigger(sb, receiver), view=pushed)
    result = await sb.close_view("U0ALICE")
    assert result.outcome == "cleared" and sb.open_views("U0ALICE") == []
    closed = (await receiver.next()).payload()
    assert closed["type"] == "view_closed" and closed["is_cleared"] is True
    with pytest.raises(LookupError):
        await sb.close_view("U0ALICE")


async def test_admin_endpoints_submit_and_close(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    await open_form(sb, client, receiver)
    receiver.reply = answer({"response_action": "errors", "errors": {"size": "Too small"}})
    url = f"{sb.base_url}/_sandbox/submit_view"
    res = await http("POST", url, json={"user": "U0ALICE", "values": {"company": {"name": "A"}}})
    body = res.json()
    assert res.status == 200 and body["outcome"] == "errors" and body["status"] == 200
    assert body["view"]["errors"] == {"size": "Too small"}
    res = await http("POST", f"{sb.base_url}/_sandbox/close_view", json={"user": "U0ALICE"})
    assert res.json()["outcome"] == "closed" and sb.open_views("U0ALICE") == []
    res = await http("POST", f"{sb.base_url}/_sandbox/close_view", json={"user": "U0ALICE"})
    assert res.status == 404


# -- a real Bolt app -------------------------------------------------------------------


def build_modal_app(api_url: str) -> AsyncApp:
    """A button opens a lead form; the submission handler insists on a company name."""
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url), signing_secret=SECRET)
    form = small_modal(
        "New lead",
        callback_id="lead_form",
        submit=plain("Save"),
        blocks=[
            {
                "type": "input",
                "block_id": "company",
                "optional": True,  # the bot, not Slack's client, enforces it
                "label": plain("Company"),
                "element": {"type": "plain_text_input", "action_id": "name"},
            }
        ],
    )

    @app.action("new_lead")
    async def on_new_lead(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=form)

    @app.view("lead_form")
    async def on_lead_form(
        ack: Any, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        name = (view["state"]["values"]["company"]["name"]["value"] or "").strip()
        if not name:
            await ack(response_action="errors", errors={"company": "Company is required"})
            return
        await ack()
        await client.chat_postMessage(channel="C0SALES", text=f"New lead: {name}")

    return app


@pytest.fixture
async def bolt(sb: Sandbox) -> AsyncIterator[AsyncApp]:
    async with serving_bolt(sb, build_modal_app(sb.api_url)) as app:
        yield app


async def test_bolt_opens_a_modal_and_validates_the_submission(
    sb: Sandbox, client: AsyncWebClient, bolt: AsyncApp
) -> None:
    button = {"type": "button", "action_id": "new_lead", "text": plain("New lead")}
    blocks = [{"type": "actions", "elements": [button]}]
    ts = (await client.chat_postMessage(channel="C0SALES", text="leads", blocks=blocks))["ts"]
    await sb.click_button("U0BOB", "C0SALES", ts, label="New lead")
    await sb.wait_for_call("views.open")
    [opened] = sb.open_views("U0BOB")
    assert opened["callback_id"] == "lead_form"

    blank = await sb.submit_view("U0BOB", {"company": {"name": "  "}})
    assert blank.outcome == "errors" and blank.errors == {"company": "Company is required"}
    assert [v["id"] for v in sb.open_views("U0BOB")] == [opened["id"]]

    done = await sb.submit_view("U0BOB", {"company": {"name": "ACME"}})
    assert done.outcome == "closed" and sb.open_views("U0BOB") == []
    [post] = await sb.wait_for_call("chat.postMessage", lambda c: "ACME" in c.args["text"])
    assert post.args["text"] == "New lead: ACME"
