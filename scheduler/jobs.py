"""The scheduler and its thin jobs. Each job asks one use case what is due now.

APScheduler 3's `AsyncIOScheduler` with its default in-memory job store: the
jobs are recurring polls, and what is due lives in the database, so nothing is
lost on restart and several replicas may poll at once (the use cases decide
with conditional updates).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

#: How long a graceful stop waits for running jobs (each does one bounded batch).
DRAIN_SECONDS = 10.0


class _StillRunningIsDebug(logging.Filter):
    """APScheduler warns whenever a tick finds its job still running. Jobs here never
    overlap themselves by design (a long pass just runs back to back), so under load that
    warning came every tick (twice a second for the SLA ladder): it is debug-level here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" not in str(record.msg):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_STILL_RUNNING = _StillRunningIsDebug()


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[object]]
    every_seconds: float


class JobScheduler:
    """The APScheduler, plus a drain: `stop` lets jobs that are running finish (graceful
    shutdown drains in-flight work, SPEC §10) instead of cancelling them mid-transaction."""

    def __init__(self, jobs: list[Job]) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        apscheduler_log = logging.getLogger("apscheduler.scheduler")
        if _STILL_RUNNING not in apscheduler_log.filters:
            apscheduler_log.addFilter(_STILL_RUNNING)
        self._running: set[asyncio.Task[object]] = set()
        for job in jobs:
            self._scheduler.add_job(
                self._logged(job),
                "interval",
                seconds=job.every_seconds,
                id=job.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        """Start no more jobs, wait (up to `DRAIN_SECONDS`) for running ones, then shut down."""
        self._scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=DRAIN_SECONDS)
        self._scheduler.shutdown(wait=False)

    def shutdown(self, wait: bool = False) -> None:
        """Shut down at once (running jobs are cancelled)."""
        self._scheduler.shutdown(wait=wait)

    def _logged(self, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job.run()
            except Exception as exc:  # the next tick retries; the error must not kill the job
                log.error("scheduled job %s failed: %s", job.name, type(exc).__name__)
                log.debug("scheduled job failure", exc_info=True)
            finally:
                if task is not None:
                    self._running.discard(task)

        return run


def build_scheduler(jobs: list[Job]) -> JobScheduler:
    """A scheduler with each job as an interval job that never overlaps itself."""
    return JobScheduler(jobs)


def idle_capture_job(capture_idle: Callable[[], Awaitable[int]], idle_seconds: int) -> Job:
    """Partial capture of quiet conversations; polled often enough to be on time."""
    return Job(
        "widget-idle-capture", capture_idle, every_seconds=max(1.0, min(10.0, idle_seconds / 10))
    )
