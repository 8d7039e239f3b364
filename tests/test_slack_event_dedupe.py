"""Each Events API `event_id` reaches the bot's listeners once, however often Slack retries.

A spy middleware added after the bot's own records which event ids get past
the dedupe; without the dedupe a retry would show up there twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from slack_bolt.response import BoltResponse
from sqlalchemy import func, select

from sandbox import Sandbox
from store.models import SlackEventSeen
from tests.harness import RunningBot


@pytest.fixture
def passed(bot: RunningBot) -> list[str]:
    """Event ids that got past the dedupe, in arrival order."""
    ids: list[str] = []

    async def spy(body: dict[str, Any], next_: Callable[[], Awaitable[BoltResponse]]) -> Any:
        if body.get("type") == "event_callback":
            ids.append(body["event_id"])
        return await next_()

    bot.services.bolt.use(spy)
    return ids


async def seen_rows(bot: RunningBot) -> int:
    async with bot.services.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(SlackEventSeen)) or 0)


async def test_a_retried_event_is_acked_but_handled_once(
    bot: RunningBot, slack: Sandbox, passed: list[str]
) -> None:
    await slack.post_user_message("U0ALICE1", "C0SALES01", "is anyone on the ACME lead?")
    delivery = await slack.wait_for_delivery()
    assert delivery.result is not None and delivery.result.acked_in_time
    assert delivery.event_id is not None and passed == [delivery.event_id]

    for retry_num in (1, 2):
        retry = await slack.send_event(
            delivery.event, event_id=delivery.event_id, retry_num=retry_num
        )
        assert (retry.status, retry.body) == (200, "")  # acked, so Slack stops retrying
    assert passed == [delivery.event_id]
    assert await seen_rows(bot) == 1


async def test_distinct_events_each_pass(
    bot: RunningBot, slack: Sandbox, passed: list[str]
) -> None:
    event = {
        "type": "message",
        "channel": "C0SALES01",
        "channel_type": "channel",
        "user": "U0BOB001",
        "text": "hello",
        "ts": "1767603600.000100",
    }
    for event_id in ("Ev0FIRST", "Ev0SECOND"):
        assert (await slack.send_event(event, event_id=event_id)).status == 200
    retry = await slack.send_event(
        event, event_id="Ev0FIRST", retry_num=1, retry_reason="http_error"
    )
    assert retry.status == 200
    assert passed == ["Ev0FIRST", "Ev0SECOND"]
    assert await seen_rows(bot) == 2


async def test_a_mention_of_the_bot_is_answered_once_in_its_thread(
    bot: RunningBot, slack: Sandbox
) -> None:
    """The mention arrives twice (as `message` and `app_mention`); neither is a 404."""
    said = await slack.post_user_message("U0ALICE1", "C0SALES01", "@leadbot what can you do?")
    [reply] = await slack.wait_for_call(
        "chat.postMessage", lambda c: c.args.get("thread_ts") == said.ts
    )
    assert "/leads help" in reply.args["text"]
    for delivery in slack.deliveries:
        assert delivery.result is not None and delivery.result.status == 200, delivery.event
    assert sorted(d.event["type"] for d in slack.deliveries) == ["app_mention", "message"]
