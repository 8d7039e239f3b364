"""The scheduler and its thin jobs. Each job asks one use case what is due now.

APScheduler 3's `AsyncIOScheduler` with its default in-memory job store: the
jobs are recurring polls, and what is due lives in the database, so nothing is
lost on restart and several replicas may poll at once (the use cases decide
with conditional updates).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[object]]
    every_seconds: float


def build_scheduler(jobs: list[Job]) -> AsyncIOScheduler:
    """A scheduler with each job as an interval job that never overlaps itself."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(
            _logged(job),
            "interval",
            seconds=job.every_seconds,
            id=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


def _logged(job: Job) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job.run()
        except Exception as exc:  # the next tick retries; the error must not kill the job
            log.error("scheduled job %s failed: %s", job.name, type(exc).__name__)
            log.debug("scheduled job failure", exc_info=True)

    return run


def idle_capture_job(capture_idle: Callable[[], Awaitable[int]], idle_seconds: int) -> Job:
    """Partial capture of quiet conversations; polled often enough to be on time."""
    return Job(
        "widget-idle-capture", capture_idle, every_seconds=max(1.0, min(10.0, idle_seconds / 10))
    )
