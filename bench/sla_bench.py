"""SLA timer precision and idle cost (SPEC §13: every nag within 2 s of due, 10,000 pending).

10,000 leads, each offered to a rep and unclaimed, get one pending deadline each:
ladder step 0 (DM the offered rep), due times spread evenly over one minute. The
real `SlaClock.fire_due` runs as the app runs it (the APScheduler job every
`SLA_POLL_SECONDS`, the system clock) against a fresh SQLite file or
`--database-url`. The outbox fills but no dispatcher runs: Slack is not measured.

Reported:

- lateness of every fired step: claimed (`timers.fired_at`, the `now` of the pass
  that claimed it, which is what the `sla_step` event's `late_seconds` says) and
  committed (when the pass's transaction had committed, so the step's events and
  outbox rows were visible), minus the due time;
- the process's CPU seconds per wall second over `--idle` seconds before the first
  deadline, with all 10,000 pending and nothing due;
- the event loop's lag while the steps fire (a 100 ms heartbeat);
- baselines in the same run: the lateness of bare `loop.call_at` timers for the same
  due times, and the CPU of the same scheduler running a no-op job.

    .venv/bin/python -m bench.sla_bench [--deadlines 10000] [--spread 60] [--idle 30]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench]

The PostgreSQL run needs an empty database (the bench creates its schema).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.capture_to_card import percentiles
from bot.app import SLA_POLL_SECONDS, directory_rows
from bot.clock import SystemClock
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.offers import Offers
from bot.sla import SLA_TIMER, SlaClock
from scheduler.jobs import Job, build_scheduler
from store.db import Database
from store.directory import sync_directory
from store.migrate import upgrade
from store.models import Lead, LeadEvent, Timer

ON_TIME = 2.0  # seconds: SPEC §6
LEAD_IN = 5.0  # seconds between inserting the deadlines and the idle measurement's start
INSERT_BATCH = 1000


def _wall() -> datetime:
    return datetime.now(UTC)


async def call_at_baseline(deadlines: int, spread: float) -> list[float]:
    """Lateness of bare `loop.call_at` callbacks due evenly over `spread` seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 1.0
    late: list[float] = []
    done = loop.create_future()

    def fire(when: float) -> None:
        late.append(loop.time() - when)
        if len(late) == deadlines:
            done.set_result(None)

    for i in range(deadlines):
        when = start + spread * i / deadlines
        loop.call_at(when, fire, when)
    await done
    return late


async def idle_cpu(job: Callable[[], Awaitable[object]], seconds: float) -> float:
    """CPU seconds per wall second of this process while the scheduler runs `job`."""
    scheduler = build_scheduler([Job("bench", job, every_seconds=SLA_POLL_SECONDS)])
    scheduler.start()
    try:
        return await _cpu_over(seconds)
    finally:
        scheduler.shutdown(wait=False)


async def _cpu_over(seconds: float) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


async def _noop() -> None:
    return None


async def seed(
    db: Database, config: LeadbotConfig, deadlines: int, first_due: datetime, spread: float
) -> None:
    """`deadlines` offered, unclaimed leads of the sales queue, each with its step-0 deadline
    (captured a minute before it), due evenly over `spread` seconds from `first_due`."""
    reps = config.queue("sales").reps
    async with db.transaction() as session:
        await sync_directory(session, *directory_rows(config))
        if await session.scalar(select(func.count()).select_from(Lead)):
            raise SystemExit("the database is not empty: the bench needs a fresh one")
    for start in range(0, deadlines, INSERT_BATCH):
        batch = range(start, min(deadlines, start + INSERT_BATCH))
        due = [first_due + timedelta(seconds=spread * i / deadlines) for i in batch]
        leads: list[dict[str, Any]] = []
        for i, at in zip(batch, due, strict=True):
            captured = at - timedelta(minutes=1)
            leads.append(
                {
                    "state": "offered",
                    "intake": "api",
                    "email": f"bench{i}@example.com",
                    "email_normalized": f"bench{i}@example.com",
                    "score": 40,
                    "score_reasons": [],
                    "grade": "SQL",
                    "queue_id": "sales",
                    "offered_rep_id": reps[i % len(reps)],
                    "offered_at": captured,
                    "exclusive_until": captured + timedelta(minutes=2),
                    "sla_status": "pending",
                    "routing": {
                        "sla": {
                            "start": captured.isoformat(),
                            "due": (captured + timedelta(minutes=5)).isoformat(),
                            "queue": "sales",
                        }
                    },
                    "captured_at": captured,
                    "updated_at": captured,
                    "last_activity_at": captured,
                }
            )
        async with db.transaction() as session:
            ids = list(await session.scalars(insert(Lead).returning(Lead.id), leads))
            await session.execute(
                insert(Timer),
                [
                    {
                        "kind": SLA_TIMER,
                        "lead_id": lead_id,
                        "step": 0,
                        "due_at": at,
                        "status": "pending",
                        "payload": {"queue": "sales"},
                    }
                    for lead_id, at in zip(ids, due, strict=True)
                ],
            )


async def heartbeat(lags: list[float], stop: asyncio.Event, every: float = 0.1) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        wanted = loop.time() + every
        await asyncio.sleep(every)
        lags.append(loop.time() - wanted)


async def run_sla(
    db: Database, config: LeadbotConfig, deadlines: int, spread: float, idle: float
) -> dict[str, Any]:
    commits: list[datetime] = []
    sla = SlaClock(db, SystemClock(), lambda: commits.append(_wall()), Offers(config), config)
    first_due = _wall() + timedelta(seconds=LEAD_IN + idle)
    await seed(db, config, deadlines, first_due, spread)
    scheduler = build_scheduler([Job("sla-ladder", sla.fire_due, every_seconds=SLA_POLL_SECONDS)])
    scheduler.start()
    try:
        await asyncio.sleep(max(0.0, (first_due - _wall()).total_seconds() - idle - 0.5))
        cpu = await _cpu_over(idle)
        if _wall() >= first_due:
            print("warning: the idle measurement overlapped the first deadlines")
        lags: list[float] = []
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(lags, stop))
        last_due = first_due + timedelta(seconds=spread)
        while True:
            await asyncio.sleep(1.0)
            async with db.reading() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(Timer).where(Timer.status == "pending")
                )
            if not pending or _wall() > last_due + timedelta(seconds=60):
                break
        stop.set()
        await beat
    finally:
        scheduler.shutdown(wait=False)
    async with db.reading() as session:
        rows = (
            await session.execute(
                select(Timer.due_at, Timer.fired_at).where(Timer.status == "fired")
            )
        ).all()
        late_events = [
            float(data["late_seconds"])
            for data in await session.scalars(
                select(LeadEvent.data).where(LeadEvent.kind == "sla_step")
            )
        ]
    claimed = [(fired - due).total_seconds() for due, fired in rows if fired is not None]
    # Each pass claims its rows at one `now` and commits, then wakes the outbox: so the
    # k-th distinct `fired_at` belongs to the k-th commit.
    batches = sorted({fired for _, fired in rows if fired is not None})
    committed: list[float] = []
    if len(batches) == len(commits):
        at_commit = dict(zip(batches, commits, strict=True))
        committed = [(at_commit[fired] - due).total_seconds() for due, fired in rows if fired]
    return {
        "pending": deadlines - len(rows),
        "claimed": claimed,
        "committed": committed,
        "events": late_events,
        "passes": len(commits),
        "idle_cpu": cpu,
        "lags": lags,
    }


def _row(name: str, samples: list[float]) -> str:
    if not samples:
        return f"| {name} | — | — | — | — |"
    p = percentiles(samples)
    over = sum(s > ON_TIME for s in samples)
    return f"| {name} | {p['p50']:.0f} | {p['p99']:.0f} | {p['max']:.0f} | {over} |"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadlines", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU to measure")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    config = load_config(EXAMPLE_CONFIG_PATH)

    print(f"baseline: {args.deadlines} bare call_at timers over {args.spread:.0f} s ...")
    bare = await call_at_baseline(args.deadlines, args.spread)
    print(f"baseline: scheduler with a no-op job, {args.idle:.0f} s ...")
    noop_cpu = await idle_cpu(_noop, args.idle)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        try:
            await upgrade(db)
            backend = db.engine.url.get_backend_name()
            print(f"SLA: {args.deadlines} deadlines over {args.spread:.0f} s on {backend} ...")
            result = await run_sla(db, config, args.deadlines, args.spread, args.idle)
        finally:
            await db.dispose()

    print()
    print("| lateness | p50 ms | p99 ms | max ms | over 2 s |")
    print("|---|---|---|---|---|")
    print(_row("bare `loop.call_at` (baseline)", bare))
    print(_row("SLA step, claimed (`fired_at`)", result["claimed"]))
    print(_row("SLA step, committed", result["committed"]))
    print(_row("event loop lag while firing (100 ms heartbeat)", result["lags"]))
    print()
    print(
        f"fired {len(result['claimed'])} of {args.deadlines} (still pending: {result['pending']}); "
        f"sla_step events: {len(result['events'])}; passes that fired: {result['passes']}"
    )
    print(
        f"idle CPU, seconds per wall second: scheduler with a no-op job {noop_cpu:.4f}, "
        f"with the SLA job and {args.deadlines} pending, nothing due {result['idle_cpu']:.4f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
