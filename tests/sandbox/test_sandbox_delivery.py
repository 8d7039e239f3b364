"""Slack's side of a slow or failing bot: the 3-second ack and Events API retries.

The sandbox here waits 0.2 s instead of 3 s and retries on a 0/50/100 ms
schedule instead of 0/1/5 minutes, so the tests wait on recorded attempts
rather than on the clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sandbox_testkit import Received, Receiver, http, make_sandbox

from sandbox import Sandbox

ACK_TIMEOUT = 0.2
SCHEDULE = (0.0, 0.05, 0.1)
EVENT = {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}


@pytest.fixture
def shift() -> list[float]:
    """Seconds added to the sandbox's wall clock; the fake bot moves it on each request."""
    return [0.0]


@pytest.fixture
async def sb(shift: list[float]) -> AsyncIterator[Sandbox]:
    sandbox = make_sandbox(
        ack_timeout=ACK_TIMEOUT,
        retry_schedule=SCHEDULE,
        wall_clock=lambda: time.time() + shift[0],
    )
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def release() -> AsyncIterator[asyncio.Event]:
    """Lets a stalled fake bot answer at teardown, before the receiver stops."""
    gate = asyncio.Event()
    yield gate
    gate.set()


async def received(receiver: Receiver, count: int) -> list[Received]:
    """Exactly `count` requests: the next ones, and nothing queued behind them."""
    requests = [await receiver.next() for _ in range(count)]
    assert receiver.requests.empty()
    return requests


async def dead_url() -> str:
    """A request URL nobody listens on, so connecting is refused."""
    gone = Receiver()
    url = await gone.start()
    await gone.stop()
    return url


async def test_a_slow_bot_gets_three_signed_retries_of_the_same_event(
    sb: Sandbox, receiver: Receiver, release: asyncio.Event, shift: list[float]
) -> None:
    async def stalled(_: Received) -> web.Response:
        shift[0] += 1  # the next attempt must be signed with a later timestamp
        await release.wait()
        return web.Response(status=200)

    receiver.reply = stalled
    await sb.post_user_message("U0ALICE", "C0SALES", "hello?")
    delivery = await sb.wait_for_delivery()

    assert [(a.retry_num, a.retry_reason) for a in delivery.attempts] == [
        (0, None),
        (1, "http_timeout"),
        (2, "http_timeout"),
        (3, "http_timeout"),
    ]
    assert all(a.result.timed_out and not a.result.acked_in_time for a in delivery.attempts)
    requests = await received(receiver, 4)
    assert all(r.signature_valid for r in requests)
    assert {r.raw for r in requests} == {requests[0].raw}  # same body, same event_id
    assert requests[0].json()["event_id"] == delivery.event_id
    assert "X-Slack-Retry-Num" not in requests[0].headers
    assert [r.headers["X-Slack-Retry-Num"] for r in requests[1:]] == ["1", "2", "3"]
    stamps = [int(r.headers["X-Slack-Request-Timestamp"]) for r in requests]
    assert stamps == sorted(set(stamps))


async def test_a_server_error_is_retried_as_http_error_until_it_succeeds(
    sb: Sandbox, receiver: Receiver
) -> None:
    answers = iter([500, 503, 200])

    async def flaky(_: Received) -> web.Response:
        return web.Response(status=next(answers))

    receiver.reply = flaky
    first = await sb.send_event(EVENT, event_id="Ev0FLAKY", retries=True)
    assert first.status == 500 and first.failure == "http_error"
    delivery = await sb.wait_for_delivery("Ev0FLAKY")
    assert [(a.retry_num, a.retry_reason, a.result.status) for a in delivery.attempts] == [
        (0, None, 500),
        (1, "http_error", 503),
        (2, "http_error", 200),
    ]
    requests = await received(receiver, 3)
    assert [r.json()["event_id"] for r in requests] == ["Ev0FLAKY"] * 3
    assert [r.headers.get("X-Slack-Retry-Reason") for r in requests] == [
        None,
        "http_error",
        "http_error",
    ]
    assert all(r.signature_valid for r in requests)


async def test_x_slack_no_retry_stops_redelivery(sb: Sandbox, receiver: Receiver) -> None:
    async def refuse(_: Received) -> web.Response:
        return web.Response(status=500, headers={"X-Slack-No-Retry": "1"})

    receiver.reply = refuse
    await sb.send_event(EVENT, event_id="Ev0NORETRY", retries=True)
    delivery = await sb.wait_for_delivery("Ev0NORETRY")
    assert [a.result.status for a in delivery.attempts] == [500]
    await received(receiver, 1)


async def test_a_refused_connection_is_recorded_and_retried_as_connection_failed(
    sb: Sandbox, receiver: Receiver
) -> None:
    sb.request_url = await dead_url()
    await sb.post_user_message("U0ALICE", "C0SALES", "anyone?")  # recorded, not raised
    unreachable = await sb.wait_for_delivery()
    assert [a.retry_reason for a in unreachable.attempts] == [
        None,
        "connection_failed",
        "connection_failed",
        "connection_failed",
    ]
    assert unreachable.error is not None and unreachable.result is not None
    assert unreachable.result.failure == "connection_failed"

    first = await sb.send_event(EVENT, event_id="Ev0BACK", retries=True)
    assert first.error is not None
    # No await since the call returned, so the first retry has not run yet.
    sb.request_url = receiver.url
    delivery = await sb.wait_for_delivery("Ev0BACK")
    assert [a.result.status for a in delivery.attempts] == [0, 200]
    [retry] = await received(receiver, 1)
    assert retry.signature_valid and retry.json()["event_id"] == "Ev0BACK"
    assert (retry.headers["X-Slack-Retry-Num"], retry.headers["X-Slack-Retry-Reason"]) == (
        "1",
        "connection_failed",
    )


async def test_a_healthy_bot_gets_each_event_exactly_once(sb: Sandbox, receiver: Receiver) -> None:
    await sb.post_user_message("U0ALICE", "C0SALES", "@leadbot stats")
    assert len(sb.deliveries) == 2  # the message and the app_mention
    for delivery in sb.deliveries:
        settled = await sb.wait_for_delivery(delivery.event_id)
        assert len(settled.attempts) == 1 and settled.result is not None
        assert settled.result.acked_in_time
    requests = await received(receiver, 2)
    assert len({r.json()["event_id"] for r in requests}) == 2


async def test_a_slash_command_that_times_out_tells_the_user(
    sb: Sandbox, receiver: Receiver, release: asyncio.Event
) -> None:
    async def stalled(_: Received) -> web.Response:
        await release.wait()
        return web.Response(status=200)

    receiver.reply = stalled
    result = await sb.send_slash_command("U0ALICE", "C0SALES", "stats")
    assert result.timed_out and not result.acked_in_time and result.status == 0
    assert ACK_TIMEOUT <= result.elapsed < 3
    [notice] = sb.ephemerals("C0SALES", "U0ALICE")
    assert notice.text == '`/leads` failed with the error "operation_timeout"'
    assert notice.user == "USLACKBOT" and notice.bot_id is None
    assert sb.ephemerals("C0SALES", "U0BOB") == []

    page = await http(
        "POST",
        f"{sb.base_url}/_sandbox/command",
        json={"user": "U0BOB", "channel": "C0SALES", "text": "stats"},
    )
    assert page.json()["timed_out"] is True
    assert [m.text for m in sb.ephemerals("C0SALES", "U0BOB")] == [notice.text]
    await received(receiver, 2)  # commands are never retried


async def test_stop_cancels_pending_retries() -> None:
    sandbox = make_sandbox(ack_timeout=ACK_TIMEOUT, retry_schedule=(0.0, 60.0, 300.0))
    bot = Receiver()

    async def broken(_: Received) -> web.Response:
        return web.Response(status=500)

    bot.reply = broken
    await sandbox.start()
    sandbox.request_url = await bot.start()
    try:
        await sandbox.send_event(EVENT, event_id="Ev0LATER", retries=True)
        await bot.next()
        await bot.next()  # the immediate retry; the next one is a minute away
        await asyncio.wait_for(sandbox.stop(), 2)
        delivery = sandbox.deliveries[-1]
        assert delivery.settled.is_set() and len(delivery.attempts) == 2
    finally:
        await sandbox.stop()
        await bot.stop()
