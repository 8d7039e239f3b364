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

    def take(self, now: float) -> float:
        """Take a token; return 0 on success, else seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """Answers "may this call go ahead?" with the Retry-After seconds when not."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}

    def check(self, method: str, token: str, channel: str | None = None) -> int | None:
        """None when allowed, else an integer Retry-After of at least 1."""
        now = self._clock()
        waits: list[float] = []
        if method == "chat.postMessage" and channel:
            waits.append(
                self._take(
                    ("channel", channel),
                    self.config.channel_burst,
                    self.config.channel_per_second,
                    now,
                )
            )
            per_minute = self.config.workspace_per_minute
            waits.append(self._take(("workspace", method), per_minute, per_minute / 60, now))
        elif self.config.tiers and method in METHOD_TIERS:
            per_minute = self.config.tier_per_minute[METHOD_TIERS[method]]
            waits.append(self._take(("tier", method, token), per_minute, per_minute / 60, now))
        wait = max(waits, default=0.0)
        return None if wait <= 0 else max(1, math.ceil(wait))

    def _take(self, key: tuple[str, ...], capacity: float, rate: float, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(capacity, rate, now)
        return bucket.take(now)
