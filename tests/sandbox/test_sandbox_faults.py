"""Rate limits, injected faults and refused connections."""

from __future__ import annotations

import aiohttp
import pytest
from sandbox_testkit import TOKEN, FakeClock, http, make_sandbox
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import RateLimitConfig, Sandbox


async def _fail(coro: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await coro  # type: ignore[misc]
    return caught.value


async def test_bursting_a_channel_gets_429_with_integer_retry_after() -> None:
    clock = FakeClock()
    sb = make_sandbox(rate_limits=True, clock=clock)
    await sb.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=sb.api_url)
        for i in range(3):
            await client.chat_postMessage(channel="C0SALES", text=str(i))
        err = await _fail(client.chat_postMessage(channel="C0SALES", text="too fast"))
        assert err.response.status_code == 429
        assert err.response["error"] == "ratelimited"
        retry_after = err.response.headers["Retry-After"]
        assert retry_after.isdigit() and int(retry_after) >= 1
        assert len(sb.messages("C0SALES")) == 3
        # Other channels have their own bucket; time refills this one.
        assert (await client.chat_postMessage(channel="C0PRIV", text="elsewhere"))["ok"]
        clock.advance(1.0)
        assert (await client.chat_postMessage(channel="C0SALES", text="later"))["ok"]
    finally:
        await sb.stop()


async def test_workspace_cap_limits_posts_across_channels_and_refusals_cost_nothing() -> None:
    clock = FakeClock()
    # Channels refill slowly here (one post per 100 s), so a token lost to a refusal would show.
    config = RateLimitConfig(channel_per_second=0.01, channel_burst=3, workspace_per_minute=4)
    sb = make_sandbox(rate_limits=config, clock=clock)
    await sb.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=sb.api_url)
        for channel in ("C0SALES", "C0SALES", "C0PRIV", "C0PRIV"):
            await client.chat_postMessage(channel=channel, text="x")
        # C0SALES still has a token of its own, but the workspace has none left.
        err = await _fail(client.chat_postMessage(channel="C0SALES", text="capped"))
        assert err.response.status_code == 429
        assert int(err.response.headers["Retry-After"]) == 15  # 4 a minute: one per 15 s
        clock.advance(15)
        # The refused post did not spend C0SALES's own token, so it may post now.
        assert (await client.chat_postMessage(channel="C0SALES", text="after"))["ok"]
        assert len(sb.messages("C0SALES")) == 3
    finally:
        await sb.stop()


async def test_tier_limits_are_configurable() -> None:
    config = RateLimitConfig(tier_per_minute={0: 600, 1: 1, 2: 20, 3: 2, 4: 100})
    sb = make_sandbox(rate_limits=config, clock=FakeClock())
    await sb.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=sb.api_url)
        await client.conversations_open(users="U0ALICE")
        await client.conversations_open(users="U0ALICE")
        err = await _fail(client.conversations_open(users="U0ALICE"))
        assert err.response.status_code == 429 and int(err.response.headers["Retry-After"]) >= 1
    finally:
        await sb.stop()


async def test_rate_limits_can_be_off(sb: Sandbox, client: AsyncWebClient) -> None:
    for i in range(10):
        await client.chat_postMessage(channel="C0SALES", text=str(i))
    assert len(sb.messages("C0SALES")) == 10


async def test_forced_429_answers_before_any_work(sb: Sandbox, client: AsyncWebClient) -> None:
    sb.set_fault("chat.postMessage", status=429, times=1)
    err = await _fail(client.chat_postMessage(channel="C0SALES", text="x"))
    assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "1"
    assert err.response["error"] == "ratelimited"
    assert sb.messages("C0SALES") == []
    assert (await client.chat_postMessage(channel="C0SALES", text="x"))["ok"]


async def test_503_outage_answers_html_and_stores_nothing(
    sb: Sandbox, client: AsyncWebClient
) -> None:
    sb.set_fault("*", status=503)
    err = await _fail(client.chat_postMessage(channel="C0SALES", text="x"))
    assert err.response.status_code == 503
    assert sb.messages("C0SALES") == []
    assert sb.calls[-1].status == 503 and sb.calls[-1].args["text"] == "x"
    res = await http("POST", sb.api_url + "auth.test")
    assert res.status == 503 and res.content_type == "text/html" and "503" in res.text
    sb.clear_faults()
    assert (await client.auth_test())["ok"]


async def test_500_fault_counts_down(sb: Sandbox, client: AsyncWebClient) -> None:
    sb.set_fault("auth.test", status=500, times=2)
    for _ in range(2):
        assert (await _fail(client.auth_test())).response.status_code == 500
    assert (await client.auth_test())["ok"]


async def test_delay_fault_does_the_work_but_the_client_never_hears(
    sb: Sandbox,
) -> None:
    """A crash mid-request: the card exists, the bot never learnt its ts."""
    sb.set_fault("chat.postMessage", delay=30, times=1)
    impatient = AsyncWebClient(token=TOKEN, base_url=sb.api_url, timeout=0.3)  # type: ignore[arg-type]
    with pytest.raises((TimeoutError, aiohttp.ClientError)):
        await impatient.chat_postMessage(channel="C0SALES", text="card")
    [stored] = sb.messages("C0SALES")
    assert stored.text == "card"
    [call] = await sb.wait_for_call("chat.postMessage")
    assert call.response["ts"] == stored.ts


async def test_refused_then_accepted_on_the_same_port(sb: Sandbox) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=sb.api_url, retry_handlers=[])
    assert (await client.auth_test())["ok"]
    url = sb.api_url
    await sb.refuse_connections()
    with pytest.raises(aiohttp.ClientConnectorError):
        await client.auth_test()
    await sb.accept_connections()
    assert sb.api_url == url
    assert (await client.auth_test())["ok"]


def test_fault_arguments_are_checked() -> None:
    sb = Sandbox()
    with pytest.raises(ValueError, match="exactly one"):
        sb.set_fault("chat.postMessage")
    with pytest.raises(ValueError, match="unsupported"):
        sb.set_fault("chat.postMessage", status=404)
