"""Slack's side of the Events API retry contract.

Slack expects a 2xx within 3 seconds. When an event delivery times out,
gets a non-2xx or cannot connect, Slack sends the same event again (same
`event_id`, same body, freshly signed) with `X-Slack-Retry-Num` 1..3 and
`X-Slack-Retry-Reason`, about immediately, after about a minute and after
about five, unless the bot's failing answer carries `X-Slack-No-Retry: 1`.
The sandbox does the same so a bot's dedupe can be tested, and keeps every
attempt so tests can look at them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.inbound import JSON, InboundSender
from sandbox.models import InboundResult

RETRY_SCHEDULE = (0.0, 60.0, 300.0)


@dataclass(frozen=True)
class Attempt:
    """One try at delivering an event: the first one (`retry_num` 0) or a retry."""

    retry_num: int
    retry_reason: str | None
    result: InboundResult


@dataclass(eq=False)
class Delivery:
    """An event Slack sent on its own (user posts, bot echoes, `send_event(retries=True)`).

    Recorded before the first attempt and filled in as retries happen, so a
    test sees the retries of a slow bot while they are still going on;
    `settled` is set once no further attempt will be made.
    """

    event: dict[str, Any]
    event_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    skipped: str | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def result(self) -> InboundResult | None:
        """The latest attempt's outcome (None before the first one ends)."""
        return self.attempts[-1].result if self.attempts else None

    @property
    def error(self) -> str | None:
        """Why it was not sent at all, or why the latest attempt could not connect."""
        result = self.result
        return self.skipped or (result.error if result is not None else None)


def should_retry(result: InboundResult) -> bool:
    """Slack retries any failure unless the bot's answer says `X-Slack-No-Retry: 1`."""
    if result.failure is None:
        return False
    headers = {name.lower(): value.strip() for name, value in result.headers.items()}
    return headers.get("x-slack-no-retry") != "1"


class Redelivery:
    """Sends events with Slack's retries and records each `Delivery`."""

    def __init__(
        self,
        sender: InboundSender,
        request_url: Callable[[], str | None],
        retry_schedule: Sequence[float] = RETRY_SCHEDULE,
    ) -> None:
        self.sender = sender
        self._request_url = request_url
        self.retry_schedule = tuple(retry_schedule)
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def skip(self, event: dict[str, Any], reason: str) -> Delivery:
        """Record an event Slack would have sent but could not (no request URL)."""
        delivery = Delivery(event, skipped=reason)
        delivery.settled.set()
        self.deliveries.append(delivery)
        return delivery

    async def deliver(self, event: dict[str, Any], event_id: str, body: bytes) -> InboundResult:
        """First attempt now (its result is returned); retries go on in the background."""
        delivery = Delivery(event, event_id)
        self.deliveries.append(delivery)
        result = await self._attempt(delivery, body, 0, None)
        if should_retry(result) and self.retry_schedule:
            reason = result.failure or "unknown_error"
            task = asyncio.get_running_loop().create_task(self._retry(delivery, body, reason))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            delivery.settled.set()
        return result

    async def close(self) -> None:
        """Cancel pending retries (Slack stops when the sandbox does)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _retry(self, delivery: Delivery, body: bytes, reason: str) -> None:
        try:
            for retry_num, delay in enumerate(self.retry_schedule, start=1):
                await asyncio.sleep(delay)
                result = await self._attempt(delivery, body, retry_num, reason)
                if not should_retry(result):
                    return
                reason = result.failure or "unknown_error"
        finally:
            delivery.settled.set()

    async def _attempt(
        self, delivery: Delivery, body: bytes, retry_num: int, reason: str | None
    ) -> InboundResult:
        """One POST of the same bytes; the sender signs it with the current time."""
        headers: dict[str, str] = {}
        if reason is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}
        url = self._request_url()
        if url is None:
            result = InboundResult(0, "", {}, 0.0, error="no request_url")
        else:
            result = await self.sender.post(url, body, JSON, headers, record_errors=True)
        delivery.attempts.append(Attempt(retry_num, reason, result))
        return result
