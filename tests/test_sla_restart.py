"""SIGKILL the real `leadbot serve` in the middle of an SLA ladder (SPEC §6, issue 6
acceptance 3): the steps that came due while it was down fire once on restart, in the
order they came due, and the step whose transaction committed before the kill is not
done again, even though its message had not reached Slack yet. And a notice that reached
Slack just before the kill, its answer lost, is found by its metadata, not posted again.

The ladder runs in seconds on the real clock, from a config file the child process reads
(LEADBOT_CONFIG); `BotProcess` is the crash-recovery tests' child process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from bot.apikeys import create_api_key
from bot.clock import SystemClock
from bot.config import EXAMPLE_CONFIG_PATH
from bot.sla import SLA_NOTICE
from sandbox import Sandbox
from store.db import Database
from store.models import OutboxMessage, Timer
from tests.harness import (
    ladder_yaml,
    outbox_drained,
    posts,
    sla_steps,
    timer_rows,
    wait_for_card,
)
from tests.test_crash_recovery import BotProcess, send_lead, until

SALES, ESCALATION = "C0SALES01", "C0MGRESC1"
ALICE, BOB = "U0ALICE1", "U0BOB001"
#: The first step comes due at once; the other four a few seconds later, while the bot is down.
LADDER = [
    ("1s", "unclaimed", "dm_offered_rep"),
    ("3s", "unclaimed", "reoffer"),
    ("4s", "unclaimed", "open_to_channel"),
    ("5s", "claimed_no_contact", "dm_owner"),
    ("6s", "no_contact", "mark_missed"),
]


#: The channel is called at once; the SLA is missed soon after.
OPEN_AT_ONCE = [("1s", "unclaimed", "open_to_channel"), ("3s", "no_contact", "mark_missed")]


def config_file(tmp_path: Path, ladder: list[tuple[str, str, str]]) -> Path:
    """The example config with `ladder` on the `sales` queue."""
    text = EXAMPLE_CONFIG_PATH.read_text()
    marker = "    default: true\n"
    assert text.count(marker) == 1
    path = tmp_path / "leadbot.yaml"
    path.write_text(text.replace(marker, marker + ladder_yaml(ladder)))
    return path


def bot_process(
    database_url: str, slack: Sandbox, tmp_path: Path, ladder: list[tuple[str, str, str]]
) -> BotProcess:
    bot = BotProcess(database_url, slack.api_url, tmp_path / "bot.log")
    bot.env["LEADBOT_CONFIG"] = str(config_file(tmp_path, ladder))
    bot.env["LEADBOT_OUTBOX_MAX_BACKOFF_SECONDS"] = "1"
    return bot


async def first_lead(bot: BotProcess, db: Database, slack: Sandbox, email: str) -> int:
    """Start the bot and send it a lead; its id, once its card and Alice's offer are out."""
    key = await create_api_key(db, SystemClock(), "sla-restart")
    await bot.start()
    lead_id = await send_lead(bot, key, email)
    await wait_for_card(slack, lead_id)
    await slack.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == ALICE)
    return lead_id


async def notice_rows(db: Database, lead_id: int) -> list[str]:
    """The statuses of the lead's `sla_notice` outbox rows (nags, @here, escalations)."""
    async with db.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage.status)
            .where(OutboxMessage.lead_id == lead_id, OutboxMessage.kind == SLA_NOTICE)
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def last_due(db: Database, lead_id: int) -> float:
    async with db.reading() as session:
        due = await session.scalars(select(Timer.due_at).where(Timer.lead_id == lead_id))
        return max(due).timestamp()


async def test_steps_due_while_the_bot_was_down_fire_once_in_order_and_none_twice(
    database_url: str, slack: Sandbox, db: Database, tmp_path: Path
) -> None:
    bot = bot_process(database_url, slack, tmp_path, LADDER)
    try:
        lead_id = await first_lead(bot, db, slack, "restart@initech.example")
        slack.set_fault("chat.postMessage", status=503)  # Slack stops taking messages

        # Step 0 commits (its event and its outbox row together), its nag fails to reach
        # Slack, and the bot dies before it can try again.
        await until(lambda: _acted(db, lead_id, [0]), within=10, what="the first step to commit")
        await until(lambda: _failed_post(slack), within=10, what="a failed attempt at the nag")
        await bot.kill()
        killed_at = SystemClock().now()
        steps = await timer_rows(db, lead_id)
        assert [(step, status) for step, status, _ in steps] == [
            (0, "fired"),
            (1, "pending"),
            (2, "pending"),
            (3, "pending"),
            (4, "pending"),
        ]
        assert await notice_rows(db, lead_id) == ["pending"]

        # The rest of the ladder comes due while nothing runs (real time must pass here).
        await asyncio.sleep(max(0.0, await last_due(db, lead_id) - killed_at.timestamp()) + 0.3)
        slack.clear_faults()
        restarted_at = SystemClock().now()
        await bot.start()
        await until(
            lambda: _acted(db, lead_id, [0, 1, 2, 4]), within=10, what="the due steps to fire"
        )
        await until(lambda: outbox_drained(db), within=15, what="the outbox to drain")
    finally:
        await bot.stop()

    # Each step fired once: step 0 before the kill, the others on restart.
    steps = await timer_rows(db, lead_id)
    assert [(step, status) for step, status, _ in steps] == [(i, "fired") for i in range(5)]
    fired = [at for _, _, at in steps]
    assert fired[0] is not None and fired[0] < killed_at
    assert all(at is not None and at >= restarted_at for at in fired[1:])
    # One event per step that acted (step 3, a DM to the owner, found no owner), in the
    # order the steps came due: the earliest due is the latest.
    acted = await sla_steps(db, lead_id)
    assert [(s["step"], s["action"]) for s in acted] == [
        (0, "dm_offered_rep"),
        (1, "reoffer"),
        (2, "open_to_channel"),
        (4, "mark_missed"),
    ]
    late = [s["late_seconds"] for s in acted[1:]]
    assert late == sorted(late, reverse=True) and late[-1] > 0
    assert await notice_rows(db, lead_id) == ["sent", "sent", "sent"]  # nag, @here, escalation

    # Slack heard of each step once. (What fired together on restart went out to several
    # channels at once, in no particular order.)
    sent = posts(slack)
    assert Counter(_label(lead_id, message) for message in sent) == Counter(
        ["card", "offer to U0ALICE1", "nag", "offer to U0BOB001", "@here", "escalation"]
    )
    assert any(
        c.method == "chat.update" and "SLA missed" in str(c.args.get("blocks")) for c in slack.calls
    )


async def _acted(db: Database, lead_id: int, steps: list[int]) -> bool:
    return [s["step"] for s in await sla_steps(db, lead_id)] == steps


def _failed_post(slack: Sandbox) -> bool:
    return any(c.method == "chat.postMessage" and c.status == 503 for c in slack.calls)


def _label(lead_id: int, message: tuple[str, str]) -> str:
    channel, text = message
    if text.startswith(f"New lead #{lead_id}:") and channel == SALES:
        return "card"
    if text.startswith(f"You're offered lead #{lead_id}:"):
        return f"offer to {channel}"
    if text.startswith(f"Lead #{lead_id}: Lead waiting for you:") and channel == ALICE:
        return "nag"
    if text == f"Lead #{lead_id} open to anyone" and channel == SALES:
        return "@here"
    if text == f"SLA missed: lead #{lead_id}" and channel == ESCALATION:
        return "escalation"
    return f"unexpected {message}"


async def test_a_notice_that_reached_slack_just_before_the_kill_is_not_posted_again(
    database_url: str, slack: Sandbox, db: Database, tmp_path: Path
) -> None:
    bot = bot_process(database_url, slack, tmp_path, OPEN_AT_ONCE)
    try:
        lead_id = await first_lead(bot, db, slack, "mid-notice@initech.example")
        slack.set_fault("chat.postMessage", delay=60)  # Slack posts; the answer never comes back
        await until(lambda: _here(slack, lead_id), within=10, what="the @here to reach Slack")
        await bot.kill()
        assert await notice_rows(db, lead_id) == ["pending"]  # the bot never learned it was sent

        slack.clear_faults()
        await bot.start()
        await until(lambda: _acted(db, lead_id, [0, 1]), within=10, what="the miss")
        await until(lambda: outbox_drained(db), within=15, what="the outbox to drain")
    finally:
        await bot.stop()
    assert len(_here(slack, lead_id)) == 1, "the @here was posted twice"
    assert any(
        c.method == "conversations.history" and c.args.get("channel") == SALES for c in slack.calls
    )
    assert [channel for channel, text in posts(slack) if "SLA missed" in text] == [ESCALATION]


def _here(slack: Sandbox, lead_id: int) -> list[str]:
    """The `<!here>` messages about `lead_id` stored in #sales."""
    return [m.ts for m in slack.messages(SALES) if m.text == f"Lead #{lead_id} open to anyone"]
