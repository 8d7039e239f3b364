"""The use case behind Events API dedupe: has this `event_id` been handled already?

Slack redelivers an event it thinks failed (timeout, non-2xx, no connection)
with the same `event_id`, and Bolt in HTTP mode does not dedupe, so the bot
remembers ids for a while. An id is marked seen before its listener runs:
Bolt acks events at once, so a retry means the ack was lost, not the work.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from store import slack_events as seen_store
from store.db import Database

# Slack's last retry comes about five minutes after the first delivery.
KEEP_SEEN = timedelta(hours=1)
PRUNE_EVERY = 500


class EventLog:
    """Remembers Slack event ids; forgets them after `keep`, pruning every `prune_every` ids."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        keep: timedelta = KEEP_SEEN,
        prune_every: int = PRUNE_EVERY,
    ) -> None:
        self._db = db
        self._clock = clock
        self._keep = keep
        self._prune_every = prune_every
        self._recorded = 0

    async def first_sighting(self, event_id: str) -> bool:
        """True the first time any replica sees `event_id`; False for its retries."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            first = await seen_store.first_sighting(session, event_id, now)
            if first:
                self._recorded += 1
                if self._recorded % self._prune_every == 0:
                    await seen_store.prune_seen(session, now - self._keep)
        return first
