"""Small in-memory sliding-window limits for the widget (per IP, per conversation).

In-process on purpose: they protect one replica from a flood; a shared store
would cost a round trip per frame for no better protection. Time comes from
the injected clock so tests move it instead of sleeping.
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from bot.clock import Clock


class SlidingWindowLimiter:
    """At most `limit` events per `window` for each key."""

    def __init__(self, clock: Clock, *, limit: int, window: timedelta, max_keys: int = 100_000):
        self._clock = clock
        self._limit = limit
        self._window = window
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count one event for `key` if it fits in the window; False (uncounted) if not."""
        now = self._clock.now().timestamp()
        start = now - self._window.total_seconds()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._prune(start)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= start:
            hits.popleft()
        if len(hits) >= self._limit:
            return False
        hits.append(now)
        return True

    def _prune(self, start: float) -> None:
        """Forget keys with nothing in the window, so memory stays bounded by active keys."""
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= start]:
            del self._hits[key]
