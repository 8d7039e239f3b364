"""The job scheduler stops gracefully: a job that is running finishes; none starts after."""

from __future__ import annotations

import asyncio
import logging

import pytest

from scheduler.jobs import Job, build_scheduler


async def test_stop_lets_a_running_job_finish_and_starts_no_more() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    runs: list[str] = []

    async def slow() -> None:
        runs.append("start")
        started.set()
        await release.wait()  # a transaction in progress
        runs.append("end")

    scheduler = build_scheduler([Job("slow", slow, every_seconds=0.05)])
    scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.2)  # stop waits for the job rather than cancelling it
    assert not stopping.done() and runs == ["start"]
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert runs == ["start", "end"]
    await asyncio.sleep(0.2)
    assert runs == ["start", "end"]  # paused, then shut down: no second run


async def test_a_failing_job_is_logged_and_runs_again() -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("database away")

    scheduler = build_scheduler([Job("flaky", flaky, every_seconds=0.05)])
    scheduler.start()
    for _ in range(100):
        if calls >= 2:
            break
        await asyncio.sleep(0.02)
    await scheduler.stop()
    assert calls >= 2


async def test_a_job_still_running_at_its_next_tick_is_not_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Jobs never overlap themselves, so under load a tick often finds its job running:
    that is the design, not something for the operator (APScheduler warned every tick,
    twice a second for the SLA ladder)."""
    runs = 0

    async def slow() -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.3)

    caplog.set_level(logging.INFO)
    scheduler = build_scheduler([Job("slow", slow, every_seconds=0.05)])
    scheduler.start()
    await asyncio.sleep(0.8)
    await scheduler.stop()
    assert runs >= 2
    skipped = [r for r in caplog.records if "maximum number of running instances" in r.message]
    assert skipped == []
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="apscheduler.scheduler")  # still there when asked
    scheduler = build_scheduler([Job("slow", slow, every_seconds=0.05)])
    scheduler.start()
    await asyncio.sleep(0.5)
    await scheduler.stop()
    skipped = [r for r in caplog.records if "maximum number of running instances" in r.message]
    assert skipped and all(r.levelno == logging.DEBUG for r in skipped)
