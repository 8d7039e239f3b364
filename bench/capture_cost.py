"""What one capture costs in-process: SQL statements and CPU per `Leads.capture_all`.

The real bot's services on a fresh database (SQLite unless `--database-url`), with the
outbox dispatcher stopped so only the capture runs: each round captures `--group` new,
sales-ready API-style leads in one call (a card, an offer and an SLA clock each).
Statements are counted with an engine event; times are the median of the last two
thirds of the rounds.

    .venv/bin/python -m bench.capture_cost
    .venv/bin/python -m bench.capture_cost --group 3
    .venv/bin/python -m bench.capture_cost --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from typing import Any

from sqlalchemy import event

from bot.domain.contact import parse_email, parse_phone
from bot.leads import CaptureRequest, LeadIntake
from tests.harness import running_bot

ANSWERS = {"company_size": 250, "budget": "Over $50k", "timeline": "This month"}


def request(n: int) -> CaptureRequest:
    intake = LeadIntake(
        intake="widget",
        email=parse_email(f"capture{n}@example.com"),
        phone=parse_phone(f"+1 415 555 {n % 10000:04d}", "US"),
        name=f"Capture {n}",
        company="Acme",
        answers=dict(ANSWERS),
        utm={"utm_source": "bench"},
        source="bench",
    )
    return CaptureRequest(intake, "bench")


async def measure(database_url: str, group: int, rounds: int) -> dict[str, float]:
    async with running_bot(database_url, auto_upgrade=True) as bot:
        services = bot.services
        await services.dispatcher.stop()
        statements = 0

        def count(*_args: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(services.db.engine.sync_engine, "before_cursor_execute", count)
        wall: list[float] = []
        cpu: list[float] = []
        per_capture = 0.0
        for r in range(rounds):
            batch = [request(r * group + i) for i in range(group)]
            before = statements
            started, cpu_started = time.perf_counter(), time.process_time()
            results = await services.leads.capture_all(batch)
            wall.append((time.perf_counter() - started) / group)
            cpu.append((time.process_time() - cpu_started) / group)
            failed = [x for x in results if isinstance(x, Exception)]
            if failed:
                raise RuntimeError(f"capture failed: {failed[0]!r}")
            per_capture = (statements - before) / group
        kept = rounds // 3
        return {
            "statements": per_capture,
            "wall_ms": statistics.median(wall[kept:]) * 1e3,
            "cpu_ms": statistics.median(cpu[kept:]) * 1e3,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--group", type=int, default=1, help="captures per capture_all call")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/capture.db"
    result = asyncio.run(measure(url, args.group, args.rounds))
    print(
        f"{url.split(':')[0]}, groups of {args.group}: {result['statements']:.1f} statements, "
        f"{result['cpu_ms']:.2f} ms CPU, {result['wall_ms']:.2f} ms wall per capture (median)"
    )


if __name__ == "__main__":
    main()
