"""Recurring digests (SPEC §6): a manager's daily or weekly summary posted to a channel.

`schedule`, `active` and `stop` serve `/leads digest …` (managers only). The
durable deadline is each digest's `next_run_at`; `run_due` (a scheduler job)
takes each due digest by moving that deadline to the next future run with a
conditional update, counts the period's lead events, and enqueues the post in
the same transaction, so a digest is sent once per run, across restarts and
replicas. One that came due while the process was down is sent once on start,
covering everything since the previous run, and then waits for its next time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.digest import (
    COUNTED_KINDS,
    Cadence,
    DigestCounts,
    DigestSchedule,
    count_events,
    next_run,
    period_start,
)
from store import digests as digest_store
from store import outbox as outbox_store
from store.db import Database
from store.models import Digest

#: Outbox kind: one digest message, its counts fixed when it was taken.
DIGEST_POST = "digest_post"


class NotAManager(PermissionError):
    """Digests are for the configured managers."""


@dataclass(frozen=True)
class ScheduledDigest:
    """A digest as `/leads digest list` shows it."""

    id: int
    channel_id: str
    schedule: DigestSchedule
    next_run_at: datetime
    created_by: str


@dataclass(frozen=True)
class DigestReport:
    """One digest to post: its counts over [start, end), told in `tz`."""

    digest_id: int
    cadence: Cadence
    start: datetime
    end: datetime
    tz: ZoneInfo
    counts: DigestCounts

    def to_payload(self) -> dict[str, object]:
        return {
            "digest": self.digest_id,
            "cadence": self.cadence.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "tz": self.tz.key,
            "counts": self.counts.to_payload(),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, object]) -> DigestReport:
        counts = payload.get("counts")
        return cls(
            digest_id=int(str(payload["digest"])),
            cadence=Cadence(str(payload["cadence"])),
            start=datetime.fromisoformat(str(payload["start"])),
            end=datetime.fromisoformat(str(payload["end"])),
            tz=ZoneInfo(str(payload["tz"])),
            counts=DigestCounts.from_payload(counts if isinstance(counts, dict) else {}),
        )


def schedule_of(digest: Digest) -> DigestSchedule:
    return DigestSchedule(
        Cadence(digest.cadence), digest.at_hour, ZoneInfo(digest.timezone), digest.weekday
    )


def _scheduled(digest: Digest) -> ScheduledDigest:
    return ScheduledDigest(
        digest.id, digest.channel_id, schedule_of(digest), digest.next_run_at, digest.created_by
    )


class Digests:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        wake_outbox: Callable[[], None],
        managers: Collection[str],
        tz: ZoneInfo,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._managers = frozenset(managers)
        self.tz = tz  # digests are scheduled in the workspace's timezone

    def is_manager(self, user_id: str) -> bool:
        return user_id in self._managers

    def _check(self, actor: str) -> None:
        if not self.is_manager(actor):
            raise NotAManager(actor)

    async def schedule(
        self, actor: str, *, channel_id: str, cadence: Cadence, hour: int, weekday: int | None
    ) -> ScheduledDigest:
        """A new digest to `channel_id`; its first run is the next one from now."""
        self._check(actor)
        schedule = DigestSchedule(cadence, hour, self.tz, weekday)
        async with self._db.transaction() as session:
            digest = await digest_store.add_digest(
                session,
                channel_id=channel_id,
                cadence=cadence.value,
                at_hour=hour,
                weekday=weekday,
                timezone=self.tz.key,
                created_by=actor,
                next_run_at=next_run(schedule, self._clock.now()),
            )
            return _scheduled(digest)

    async def active(self, actor: str) -> list[ScheduledDigest]:
        self._check(actor)
        async with self._db.reading() as session:
            return [_scheduled(d) for d in await digest_store.active_digests(session)]

    async def stop(self, actor: str, digest_id: int) -> ScheduledDigest | None:
        """Stop an active digest; what it was, or None if there is no such active digest."""
        self._check(actor)
        async with self._db.transaction() as session:
            digest = await digest_store.stop_digest(session, digest_id)
            return _scheduled(digest) if digest is not None else None

    async def run_due(self, limit: int = 50) -> int:
        """Take every digest due now and enqueue its post; how many were taken."""
        taken = 0
        while True:
            now = self._clock.now()
            async with self._db.transaction() as session:
                due = await digest_store.due_digests(session, now=now, limit=limit)
                for digest in due:
                    schedule = schedule_of(digest)
                    if not await digest_store.take_run(
                        session,
                        digest_id=digest.id,
                        was_due=digest.next_run_at,
                        next_run_at=next_run(schedule, now),
                        now=now,
                    ):
                        continue
                    start = period_start(schedule, digest.last_run_at, now)
                    rows = await digest_store.event_counts(
                        session, kinds=COUNTED_KINDS, start=start, end=now
                    )
                    report = DigestReport(
                        digest.id, schedule.cadence, start, now, schedule.tz, count_events(rows)
                    )
                    await outbox_store.enqueue(
                        session,
                        kind=DIGEST_POST,
                        ordering_key=f"digest:{digest.id}",
                        now=now,
                        payload={"channel": digest.channel_id, **report.to_payload()},
                    )
                    taken += 1
            if taken:
                self._wake_outbox()
            if len(due) < limit:
                return taken
