"""Manager reports over a million leads, end to end (SPEC §7, §13: p95 < 300 ms).

Runs the real bot on a database filled by `bench/report_data.py`, with the Slack
sandbox as its Slack, and sends signed `/leads` commands through the sandbox as
a manager. Each command is timed from sending it to its answer arriving: the
reports ack at once and answer through `response_url` (recorded by the sandbox
as an ephemeral message, waited for on its call log, no polling); the baseline,
`/leads help`, is answered in the ack itself. Commands run one at a time, in
rounds (help, report, funnel, sources, reps) so that the machine's noise falls on
all of them alike; `--warmup` rounds first are not counted.

Also measured: the catch-up cost. `--events` fresh, unprojected events (a day's
work: leads of the last 30 days marked Qualified) are written, then the
projector's `catch_up` is timed on its own (before the bot starts), and later
the first `/leads report 30d` after another such batch, end to end (the bot's
own projector job runs every few seconds and may fold part of a batch first).

`--explain` instead times each query of the reports (`store/metrics.py`) in
process and prints its plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on
PostgreSQL).

    .venv/bin/python -m bench.report_bench --url URL [--requests 50] [--warmup 3]
    .venv/bin/python -m bench.report_bench --url URL --explain
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, select, update

from bench.report_data import business_clock
from bot import app as app_module
from bot.config import EXAMPLE_CONFIG_PATH, LeadbotConfig, load_config
from bot.demo import seed_sandbox
from bot.domain.periods import parse_period
from bot.metrics import Projector
from sandbox import Sandbox
from store import metrics as metrics_store
from store.db import Database
from store.models import ApiKey, Lead, LeadEvent
from tests.harness import BOT_TOKEN, SIGNING_SECRET, running_bot

BASELINE = "help"
REPORTS = ("report 30d", "funnel 30d", "sources 30d", "reps 30d")
TARGET_MS = 300.0
#: The harness creates an API key of this name each time it starts the bot.
HARNESS_KEY = "test"


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds (nearest rank on the sorted samples)."""
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, math.ceil(len(ordered) * p / 100) - 1))]

    return {"p50": rank(50) * 1000, "p95": rank(95) * 1000, "max": ordered[-1] * 1000}


# ------------------------------------------------------------------ fresh events


async def add_fresh_events(db: Database, count: int, now: datetime) -> int:
    """`count` recent leads (claimed or contacted) marked Qualified by their owner, as
    `LeadWork` would, with the events left unprojected; how many were written."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(Lead.id, Lead.state, Lead.owner_id)
                .where(Lead.state.in_(("claimed", "contacted")), Lead.owner_id.is_not(None))
                .order_by(Lead.captured_at.desc())
                .limit(count)
            )
        ).all()
        for lead_id, state, owner in rows:
            await session.execute(
                update(Lead)
                .where(Lead.id == lead_id)
                .values(state="qualified", updated_at=now, last_activity_at=now)
            )
            session.add(
                LeadEvent(
                    lead_id=lead_id,
                    kind="qualified",
                    actor=owner,
                    at=now,
                    from_state=state,
                    to_state="qualified",
                    data={},
                    projected=False,
                )
            )
    return len(rows)


async def unprojected(db: Database) -> int:
    async with db.reading() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(LeadEvent).where(LeadEvent.projected.is_(False))
            )
            or 0
        )


async def time_catch_up(
    db: Database, config: LeadbotConfig, events: int, rounds: int
) -> list[tuple[int, int, float]]:
    """(events written, leads projected, seconds) of `Projector.catch_up` after each batch of
    fresh events."""
    projector = Projector(db, business_clock(db, config))
    await projector.catch_up()  # anything left over from an earlier run
    found = []
    for _ in range(rounds):
        written = await add_fresh_events(db, events, datetime.now(UTC))
        started = time.perf_counter()
        projected = await projector.catch_up()
        found.append((written, projected, time.perf_counter() - started))
    return found


# ------------------------------------------------------------------ end to end


class Manager:
    """Runs `/leads …` as a manager through the sandbox and times the answer."""

    def __init__(self, slack: Sandbox, user: str, channel: str) -> None:
        self._slack = slack
        self._user = user
        self._channel = channel

    async def run(self, text: str) -> tuple[float, str]:
        """Seconds from sending the command to its answer, and the answer (its text and the
        text of its blocks)."""
        slack, slow = self._slack, text != BASELINE
        before = len(slack.log.matching("response_url"))
        answers = len(slack.ephemerals(self._channel, self._user))
        started = time.perf_counter()
        result = await slack.send_slash_command(self._user, self._channel, text)
        if result.status != 200:
            raise RuntimeError(f"/leads {text}: HTTP {result.status} {result.error or ''}")
        if slow:
            await slack.log.wait_for("response_url", count=before + 1, timeout=60)
        elapsed = time.perf_counter() - started
        shown = slack.ephemerals(self._channel, self._user)[answers:]
        if len(shown) != 1:
            raise RuntimeError(f"/leads {text}: {len(shown)} answers instead of one")
        return elapsed, shown[0].text + "\n" + json.dumps(shown[0].blocks or [])


def _check(text: str, answer: str) -> None:
    """The answer is the command's own report (its fallback text names it), not an error."""
    word = {"help": "commands"}.get(text.split()[0], text.split()[0])
    if word not in answer.splitlines()[0].lower():
        raise RuntimeError(f"/leads {text} was not answered with its report: {answer[:200]}")
    if word == "funnel" and ":bar_chart:" not in answer:
        raise RuntimeError(f"/leads {text}: the chart was not uploaded: {answer[-300:]}")


async def end_to_end(
    url: str, config: LeadbotConfig, requests: int, warmup: int, events: int, rounds: int
) -> tuple[dict[str, list[float]], list[tuple[int, int, float]]]:
    db = Database(url)
    try:
        async with db.transaction() as session:  # left by an earlier run of the harness
            await session.execute(delete(ApiKey).where(ApiKey.name == HARNESS_KEY))
    finally:
        await db.dispose()
    # The projector's own job is held off, so each catch-up batch is all the report's to fold.
    app_module.FACTS_POLL_SECONDS = 3600.0
    slack = Sandbox(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, rate_limits=False)
    seed_sandbox(slack, config)
    await slack.start()
    samples: dict[str, list[float]] = {text: [] for text in (BASELINE, *REPORTS)}
    catch_ups: list[tuple[int, int, float]] = []
    try:
        async with running_bot(url, slack.api_url) as bot:
            slack.request_url = f"{bot.url}/slack/events"
            manager = Manager(slack, config.managers[0], config.default_queue.channel)
            for round_ in range(warmup + requests):
                for text in samples:
                    elapsed, answer = await manager.run(text)
                    _check(text, answer)
                    if round_ >= warmup:
                        samples[text].append(elapsed)
                if round_ + 1 == warmup or (round_ + 1 - warmup) % 10 == 0:
                    print(f"  {round_ + 1} of {warmup + requests} rounds")
            for _ in range(rounds):
                written = await add_fresh_events(bot.services.db, events, datetime.now(UTC))
                left = await unprojected(bot.services.db)
                elapsed, answer = await manager.run("report 30d")
                _check("report 30d", answer)
                catch_ups.append((written, left, elapsed))
    finally:
        await slack.stop()
    return samples, catch_ups


# ------------------------------------------------------------------ the queries alone


async def explain(url: str, config: LeadbotConfig, repeat: int = 5) -> None:
    """Each report query's time in process (median of `repeat`) and its plan."""
    db = Database(url)
    tz = ZoneInfo(config.workspace.timezone)
    period = parse_period("30d", datetime.now(UTC), tz)
    start, end = period.start, period.end
    queries: list[tuple[str, Callable[[Any], Awaitable[object]]]] = [
        ("cohort_groups", lambda s: metrics_store.cohort_groups(s, start, end)),
        *[
            (
                f"duration_counts {c}",
                lambda s, c=c: metrics_store.duration_counts(s, c, start, end),
            )
            for c in (
                "claim_seconds",
                "claim_business_seconds",
                "contact_seconds",
                "contact_business_seconds",
            )
        ],
        ("source_groups", lambda s: metrics_store.source_groups(s, start, end)),
        ("costs_overlapping", lambda s: metrics_store.costs_overlapping(s, start, end)),
        ("rep_groups", lambda s: metrics_store.rep_groups(s, start, end)),
        *[
            (
                f"rep_duration_counts {c}",
                lambda s, c=c: metrics_store.rep_duration_counts(s, c, start, end),
            )
            for c in ("contact_seconds", "contact_business_seconds")
        ],
        ("unprojected_leads", lambda s: metrics_store.unprojected_leads(s, 500)),
    ]
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    print(f"period {period.label}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    try:
        async with db.reading() as session:
            cohort = await session.scalar(
                select(func.count()).select_from(Lead).where(Lead.captured_at >= start)
            )
        print(f"leads captured in the period: {cohort:,}")
        total = 0.0
        for name, query in queries:
            times = []
            for _ in range(repeat):
                async with db.reading() as session:
                    started = time.perf_counter()
                    await query(session)
                    times.append(time.perf_counter() - started)
            median = statistics.median(times) * 1000
            total += median
            seen.clear()
            event.listen(db.read_engine.sync_engine, "before_cursor_execute", capture)
            try:
                async with db.reading() as session:
                    await query(session)
            finally:
                event.remove(db.read_engine.sync_engine, "before_cursor_execute", capture)
            print(f"\n### {name}: {median:.1f} ms (median of {repeat})")
            for statement, parameters in seen:
                async with db.reading() as session:
                    conn = await session.connection()
                    plan = await conn.exec_driver_sql(prefix + statement, parameters)
                    for row in plan:
                        print("    " + " | ".join(str(v) for v in row))
        print(f"\nsum of the medians: {total:.1f} ms")
    finally:
        await db.dispose()


# ------------------------------------------------------------------ main


def _row(name: str, p: dict[str, float], baseline: dict[str, float] | None) -> str:
    ratio = "1×" if baseline is None else f"{p['p95'] / baseline['p95']:.0f}×"
    return f"| {name} | {p['p50']:.1f} | {p['p95']:.1f} | {p['max']:.1f} | {ratio} |"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a database filled by bench.report_data")
    parser.add_argument("--requests", type=int, default=50, help="measured rounds")
    parser.add_argument("--warmup", type=int, default=3, help="rounds run first, not counted")
    parser.add_argument("--events", type=int, default=1000, help="fresh events per catch-up")
    parser.add_argument("--catch-ups", type=int, default=3, help="catch-up batches per kind")
    parser.add_argument("--explain", action="store_true", help="time and explain the queries")
    args = parser.parse_args()
    config = load_config(EXAMPLE_CONFIG_PATH)
    if args.explain:
        await explain(args.url, config)
        return
    db = Database(args.url)
    try:
        async with db.reading() as session:
            leads = int(await session.scalar(select(func.count()).select_from(Lead)) or 0)
            events = int(await session.scalar(select(func.count()).select_from(LeadEvent)) or 0)
        if not leads:
            raise SystemExit("no leads: fill the database with bench.report_data first")
        print(f"{leads:,} leads, {events:,} events on {db.engine.dialect.name}")
        print(f"catch-up alone: {args.catch_ups} batches of {args.events} fresh events ...")
        alone = await time_catch_up(db, config, args.events, args.catch_ups)
    finally:
        await db.dispose()
    print(f"end to end: {args.warmup} warm-up + {args.requests} measured rounds ...")
    samples, catch_ups = await end_to_end(
        args.url, config, args.requests, args.warmup, args.events, args.catch_ups
    )
    baseline = percentiles(samples[BASELINE])
    print()
    print(
        f"{leads:,} leads; {args.requests} requests per command "
        f"({args.warmup} warm-up rounds not counted)"
    )
    print("| command | p50 ms | p95 ms | max ms | p95 / baseline |\n|---|---|---|---|---|")
    print(_row("`/leads help` (baseline, answered in the ack)", baseline, None))
    for text in REPORTS:
        print(_row(f"`/leads {text}`", percentiles(samples[text]), baseline))
    print()
    for text in REPORTS:
        p95 = percentiles(samples[text])["p95"]
        verdict = "met" if p95 < TARGET_MS else f"NOT met (by {p95 - TARGET_MS:.0f} ms)"
        print(f"/leads {text}: p95 {p95:.0f} ms, target {TARGET_MS:.0f} ms {verdict}")
    print()
    for written, projected, seconds in alone:
        print(
            f"catch-up alone: {written} fresh events, {projected} leads re-projected "
            f"in {seconds * 1000:.0f} ms"
        )
    for written, pending, seconds in catch_ups:
        print(
            f"first `/leads report 30d` after {written} fresh events "
            f"({pending} unprojected when sent): {seconds * 1000:.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
