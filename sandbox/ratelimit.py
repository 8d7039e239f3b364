"""Deterministic rate limits, so a bot's 429 handling can be tested.

Token buckets driven by an injected clock: a test can pass a fake clock and
step time instead of sleeping. Numbers follow contract §5.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

TIER_PER_MINUTE: Mapping[int, int] = {1: 1, 2: 20, 3: 50, 4: 100, 0: 600}  # 0 = "special"

METHOD_TIERS: Mapping[str, int] = {
    "auth.test": 0,
    "chat.getPermalink": 0,
    "chat.postMessage": 0,  # limited per channel below, plus the workspace cap
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "conversations.open": 3,
    "conversations.history": 3,
    "conversations.members": 4,
    "users.info": 4,
    "users.list": 2,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "files.info": 4,
    "reactions.add": 3,
    "reactions.remove": 2,
    "reactions.get": 3,
}


@dataclass(frozen=True)
class RateLimitConfig:
    """Knobs for the limiter; the defaults model real Slack."""

    channel_per_second: float = 1.0
    channel_burst: int = 3
    workspace_per_minute: int = 600
    tiers: bool = True
    tier_per_minute: Mapping[int, int] = field(default_factory=lambda: dict(TIER_PER_MINUTE))


class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0 if one is), without taking it."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        """Spend one token; call only after `wait` said one is available."""
        self.tokens -= 1


class RateLimiter:
    """Answers "may this call go ahead?" with the Retry-After seconds when not."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}

    def check(self, method: str, token: str, channel: str | None = None) -> int | None:
        """None when allowed, else an integer Retry-After of at least 1.

        A call needs a token from every bucket it falls under and spends them
        only when all have one, so a refused call costs nothing.
        """
        now = self._clock()
        buckets = self._buckets_for(method, token, channel, now)
        wait = max((bucket.wait(now) for bucket in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.take()
        return None

    def _buckets_for(
        self, method: str, token: str, channel: str | None, now: float
    ) -> list[TokenBucket]:
        config = self.config
        if method == "chat.postMessage" and channel:
            per_minute = config.workspace_per_minute
            return [
                self._bucket(
                    ("channel", channel), config.channel_burst, config.channel_per_second, now
                ),
                self._bucket(("workspace", method), per_minute, per_minute / 60, now),
            ]
        if config.tiers and method in METHOD_TIERS:
            per_minute = config.tier_per_minute[METHOD_TIERS[method]]
            return [self._bucket(("tier", method, token), per_minute, per_minute / 60, now)]
        return []

    def _bucket(
        self, key: tuple[str, ...], capacity: float, rate: float, now: float
    ) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(capacity, rate, now)
        return bucket
