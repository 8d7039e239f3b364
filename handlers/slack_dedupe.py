"""A Bolt middleware that lets each Events API `event_id` through once.

Slack retries an event delivery it thinks failed, with the same `event_id`,
and Bolt in HTTP mode hands every retry to the listeners again. This runs
after Bolt's signature check (so forged requests cannot fill the table) and
answers a repeat with an empty 200, which also tells Slack to stop retrying.
Interactivity and commands are never retried by Slack and pass untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

IsFirst = Callable[[str], Awaitable[bool]]


def register(app: AsyncApp, is_first: IsFirst) -> None:
    """Install the dedupe; `is_first(event_id)` must be atomic across replicas."""

    async def dedupe_events(
        body: dict[str, Any], next_: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not await is_first(event_id):
            log.debug("slack event %s was already handled; acking the retry", event_id)
            return BoltResponse(status=200, body="")
        return await next_()

    app.use(dedupe_events)
