"""response_url: JSON only, response_type, replace/delete original, 5 uses, 30 minutes."""

from __future__ import annotations

from typing import Any

from sandbox_testkit import CARD, FakeClock, Receiver, http, make_sandbox
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from sandbox import Sandbox


async def _click(sb: Sandbox, client: AsyncWebClient, receiver: Receiver) -> tuple[str, str]:
    """Post a card, click Claim; return (card ts, response_url)."""
    ts = (await client.chat_postMessage(channel="C0SALES", text="lead", blocks=CARD))["ts"]
    await sb.click_button("U0ALICE", "C0SALES", ts, label="Claim")
    return ts, (await receiver.next()).payload()["response_url"]


async def test_default_reply_is_ephemeral_to_the_clicker(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    ts, url = await _click(sb, client, receiver)
    res = await AsyncWebhookClient(url).send(text="You claimed it")
    assert (res.status_code, res.body) == (200, "ok")
    [eph] = sb.ephemerals("C0SALES", "U0ALICE")
    assert eph.text == "You claimed it" and eph.bot_id == "BBOT"
    assert [m.ts for m in sb.messages("C0SALES")] == [ts]
    [call] = await sb.wait_for_call("response_url")
    assert call.args["text"] == "You claimed it"


async def test_in_channel_reply_posts_a_bot_message(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    ts, url = await _click(sb, client, receiver)
    await AsyncWebhookClient(url).send_dict(
        {"text": "Alice has it", "response_type": "in_channel", "thread_ts": ts}
    )
    reply = sb.messages("C0SALES")[-1]
    assert (reply.text, reply.bot_id, reply.thread_ts) == ("Alice has it", "BBOT", ts)


async def test_replace_and_delete_original(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    ts, url = await _click(sb, client, receiver)
    hook = AsyncWebhookClient(url)
    await hook.send(text="Claimed by Alice", blocks=CARD[:1], replace_original=True)
    card = sb.get_message("C0SALES", ts)
    assert card.text == "Claimed by Alice" and card.edited == 1
    assert card.blocks is not None and len(card.blocks) == 1
    res = await hook.send_dict({"delete_original": True})
    assert res.status_code == 200
    assert sb.messages("C0SALES") == []


async def test_only_json_bodies_are_accepted(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    _, url = await _click(sb, client, receiver)
    res = await http("POST", url, data={"text": "form encoded"})
    assert (res.status, res.text) == (400, "invalid_payload")
    bad_blocks = await AsyncWebhookClient(url).send(text="x", blocks=[{"type": "nope"}])
    assert (bad_blocks.status_code, bad_blocks.body) == (400, "invalid_blocks")
    empty = await AsyncWebhookClient(url).send_dict({"response_type": "ephemeral"})
    assert (empty.status_code, empty.body) == (400, "no_text")


async def test_five_uses_then_used_url(
    sb: Sandbox, client: AsyncWebClient, receiver: Receiver
) -> None:
    _, url = await _click(sb, client, receiver)
    hook = AsyncWebhookClient(url)
    for i in range(5):
        assert (await hook.send(text=str(i))).status_code == 200
    spent = await hook.send(text="sixth")
    assert (spent.status_code, spent.body) == (404, "used_url")
    assert len(sb.ephemerals("C0SALES", "U0ALICE")) == 5


async def test_expires_after_thirty_minutes() -> None:
    clock = FakeClock()
    sb = make_sandbox(clock=clock)
    bot = Receiver()
    await sb.start()
    sb.request_url = await bot.start()
    try:
        await sb.send_slash_command("U0ALICE", "C0SALES", "list")
        url = (await bot.next()).form()["response_url"]
        clock.advance(29 * 60)
        assert (await AsyncWebhookClient(url).send(text="still fine")).status_code == 200
        clock.advance(2 * 60)
        expired = await AsyncWebhookClient(url).send(text="too late")
        assert (expired.status_code, expired.body) == (404, "expired_url")
    finally:
        await sb.stop()
        await bot.stop()


async def test_unknown_hook(sb: Sandbox) -> None:
    res = await AsyncWebhookClient(f"{sb.base_url}/response_url/nope").send(text="x")
    assert (res.status_code, res.body) == (404, "no_service")


async def test_command_reply_in_channel_and_faults(sb: Sandbox, receiver: Receiver) -> None:
    await sb.send_slash_command("U0BOB", "C0SALES", "list")
    url = (await receiver.next()).form()["response_url"]
    sb.set_fault("response_url", status=503, times=1)
    outage = await AsyncWebhookClient(url).send(text="x")
    assert outage.status_code == 503
    payload: dict[str, Any] = {"text": "3 open leads", "response_type": "in_channel"}
    assert (await AsyncWebhookClient(url).send_dict(payload)).status_code == 200
    assert [m.text for m in sb.messages("C0SALES")] == ["3 open leads"]
