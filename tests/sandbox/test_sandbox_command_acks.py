"""What the invoker sees after the app answers a slash command, as Slack shows it."""

from __future__ import annotations

import pytest
from aiohttp import web
from sandbox_testkit import Received, Receiver, Reply

from sandbox import Sandbox

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Report*"}}]


def answer(response: web.Response) -> Reply:
    async def reply(_: Received) -> web.Response:
        return response

    return reply


async def test_plain_text_ack_is_shown_to_the_invoker_only(sb: Sandbox, receiver: Receiver) -> None:
    receiver.reply = answer(web.Response(text="Only you can see this"))
    await sb.send_slash_command("U0ALICE", "C0SALES", "help")
    [shown] = sb.ephemerals("C0SALES", "U0ALICE")
    assert shown.text == "Only you can see this" and shown.bot_id == "BBOT"
    assert sb.ephemerals(user_id="U0BOB") == [] and sb.messages("C0SALES") == []


async def test_json_ack_with_blocks_is_ephemeral_by_default(
    sb: Sandbox, receiver: Receiver
) -> None:
    receiver.reply = answer(web.json_response({"text": "r", "blocks": BLOCKS}))
    await sb.send_slash_command("U0ALICE", "C0SALES", "report")
    [shown] = sb.ephemerals("C0SALES", "U0ALICE")
    assert shown.blocks is not None and shown.blocks[0]["text"]["text"] == "*Report*"


async def test_in_channel_ack_is_posted_for_everyone(sb: Sandbox, receiver: Receiver) -> None:
    receiver.reply = answer(
        web.json_response({"text": "Team report", "response_type": "in_channel"})
    )
    await sb.send_slash_command("U0ALICE", "C0SALES", "report")
    [posted] = sb.messages("C0SALES")
    assert posted.text == "Team report" and posted.bot_id == "BBOT"
    assert sb.ephemerals("C0SALES") == []


async def test_empty_ack_shows_nothing(sb: Sandbox, receiver: Receiver) -> None:
    await sb.send_slash_command("U0ALICE", "C0SALES", "quiet")
    assert sb.ephemerals("C0SALES") == [] and sb.messages("C0SALES") == []


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (web.json_response({"error": "unhandled request"}, status=404), "dispatch_failed"),
        (web.Response(status=500), "dispatch_failed"),
        (web.json_response({"text": "x", "blocks": [{"type": "nope"}]}), "invalid_blocks"),
        (web.json_response({"blocks": "not a list"}), "invalid_blocks_format"),
        (web.Response(text="[1, 2]", content_type="application/json"), "invalid_payload"),
    ],
)
async def test_an_unusable_answer_becomes_a_slackbot_notice(
    sb: Sandbox, receiver: Receiver, response: web.Response, error: str
) -> None:
    receiver.reply = answer(response)
    await sb.send_slash_command("U0ALICE", "C0SALES", "report")
    [notice] = sb.ephemerals("C0SALES", "U0ALICE")
    assert notice.user == "USLACKBOT"
    assert notice.text == f'`/leads` failed with the error "{error}"'
    assert sb.messages("C0SALES") == []
