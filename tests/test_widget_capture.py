"""The capture of a finished conversation runs after its last turn is answered (bot/chat.py,
bot/chat_batch.py), and a capture lost to a crash or a failure is redone; new conversations
opened together are stored in one transaction. Use-case level, fake clock, no sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest
from sqlalchemy import func, select

from bot.chat import RECAPTURE_AFTER, RELAY_VISITOR_MESSAGE
from bot.chat_batch import GroupCommit
from bot.chat_values import LIVE, Visit
from bot.clock import FakeClock
from bot.leads import Leads
from store.db import Database
from store.models import ChatMessage, ChatSession, Lead, OutboxMessage
from tests.factories import make_leads
from tests.test_chat_batch import make_chat

VISIT = Visit(url="https://www.acme.example/pricing", utm={"source": "ads"})
#: Name, email, then asking for a person: the script finishes (human) on the third line.
FINISHING = ["Ada Lovelace", "ada@example.com", "talk to a human"]


class GatedLeads:
    """`Leads` whose captures wait for `gate`, or fail (a crash before the capture commits)."""

    def __init__(self, leads: Leads, *, fail: bool = False) -> None:
        self._leads = leads
        self.gate = asyncio.Event()
        self.fail = fail
        self.started = 0

    async def capture(self, *args: Any, **kwargs: Any) -> int:
        self.started += 1
        if self.fail:
            raise RuntimeError("the process stopped before the capture committed")
        await self.gate.wait()
        return await self._leads.capture(*args, **kwargs)

    def leads(self) -> Leads:
        """Itself, as the `Leads` that `Chat` takes (it has the one method `Chat` calls)."""
        return cast(Leads, self)


async def settle() -> None:
    """Let the tasks that are ready run (the capture, queued turns); no time passes."""
    for _ in range(20):
        await asyncio.sleep(0)


async def lead_of(db: Database, chat_id: str) -> int | None:
    async with db.reading() as session:
        return await session.scalar(select(ChatSession.lead_id).where(ChatSession.id == chat_id))


async def test_the_finishing_turn_is_answered_before_its_capture(
    db: Database, clock: FakeClock
) -> None:
    leads = GatedLeads(make_leads(db, clock))
    chat = await make_chat(db, clock, leads=leads.leads())
    chat_id = (await chat.start(VISIT, origin=None, ip=None)).session_id
    said = [await chat.say(chat_id, text, f"m{n}") for n, text in enumerate(FINISHING)]

    # Answered (live from now on) while the capture still waits: no lead yet.
    assert said[-1].state.phase == LIVE
    # The next line waits for the capture, then goes to the lead's thread.
    live = asyncio.create_task(chat.say(chat_id, "still there?", "m-live"))
    await settle()
    assert leads.started == 1 and not live.done()
    assert await lead_of(db, chat_id) is None
    leads.gate.set()
    assert (await live).state.phase == LIVE
    lead_id = await lead_of(db, chat_id)
    assert lead_id is not None
    async with db.reading() as session:
        relays = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == RELAY_VISITOR_MESSAGE)
        )
        unlinked = await session.scalar(
            select(func.count())
            .select_from(ChatMessage)
            .where(ChatMessage.session_id == chat_id, ChatMessage.lead_id.is_(None))
        )
    assert relays == 1 and unlinked == 0
    await chat.close()


async def test_a_lost_capture_is_redone_after_a_restart(db: Database, clock: FakeClock) -> None:
    crashing = GatedLeads(make_leads(db, clock), fail=True)
    before = await make_chat(db, clock, leads=crashing.leads())
    chat_id = (await before.start(VISIT, origin=None, ip=None)).session_id
    said = [await before.say(chat_id, text, f"m{n}") for n, text in enumerate(FINISHING)]
    await before.close()  # waits for the (failed) capture
    assert said[-1].state.phase == LIVE and crashing.started == 1
    assert await lead_of(db, chat_id) is None

    after = await make_chat(db, clock)  # the restarted process
    # A capture may still be in flight elsewhere for a while: left alone until then.
    assert await after.capture_idle() == 0
    clock.advance(RECAPTURE_AFTER.total_seconds() + 1)
    assert await after.capture_idle() == 1
    lead_id = await lead_of(db, chat_id)
    assert lead_id is not None
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
        leads = await session.scalar(select(func.count()).select_from(Lead))
    assert lead is not None and lead.email == "ada@example.com" and lead.asked_for_human
    assert await after.capture_idle() == 0 and leads == 1  # once
    # A resend of the finishing line after the capture is a duplicate, nothing more.
    again = await after.say(chat_id, FINISHING[-1], f"m{len(FINISHING) - 1}")
    assert again.duplicate and again.state.phase == LIVE
    await after.close()


async def test_a_resend_retries_a_failed_capture_at_once(db: Database, clock: FakeClock) -> None:
    leads = GatedLeads(make_leads(db, clock), fail=True)
    chat = await make_chat(db, clock, leads=leads.leads())
    chat_id = (await chat.start(VISIT, origin=None, ip=None)).session_id
    for n, text in enumerate(FINISHING):
        await chat.say(chat_id, text, f"m{n}")
    await settle()
    assert leads.started == 1 and await lead_of(db, chat_id) is None
    leads.fail = False
    leads.gate.set()
    # The widget resends what it has no ack for; the finished, uncaptured chat is captured.
    resent = await chat.say(chat_id, FINISHING[-1], f"m{len(FINISHING) - 1}")
    assert resent.duplicate
    await chat.close()
    assert leads.started == 2 and await lead_of(db, chat_id) is not None


async def test_new_conversations_opened_together_are_stored_together(
    db: Database, clock: FakeClock
) -> None:
    chat = await make_chat(db, clock)
    opened = await asyncio.gather(*(chat.start(VISIT, origin=None, ip=None) for _ in range(12)))
    assert len({o.session_id for o in opened}) == 12
    async with db.reading() as session:
        sessions = await session.scalar(select(func.count()).select_from(ChatSession))
        lines = await session.scalar(select(func.count()).select_from(ChatMessage))
    assert sessions == 12 and lines == sum(len(o.history) for o in opened)
    resumed = await chat.resume(opened[3].token, VISIT)
    assert resumed is not None and resumed.history == opened[3].history
    await chat.close()


async def test_a_group_that_fails_is_stored_one_at_a_time() -> None:
    groups: list[list[str]] = []

    async def store(items: Sequence[str]) -> None:
        groups.append(list(items))
        if "bad" in items:
            raise ValueError("refused")

    commit: GroupCommit[str] = GroupCommit(store, max_batch=10)
    results = await asyncio.gather(
        *(commit.submit(item) for item in ["a", "bad", "c"]), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert groups == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    await commit.close()
    with pytest.raises(RuntimeError):
        await commit.submit("late")


async def test_captures_run_one_at_a_time_behind_the_answers(
    db: Database, clock: FakeClock
) -> None:
    leads = GatedLeads(make_leads(db, clock))
    chat = await make_chat(db, clock, leads=leads.leads())
    ids = [(await chat.start(VISIT, origin=None, ip=None)).session_id for _ in range(3)]
    for n, text in enumerate(FINISHING):
        texts = [text.replace("ada", f"ada{c}") for c in range(len(ids))]
        said = await asyncio.gather(
            *(chat.say(chat_id, t, f"m{n}") for chat_id, t in zip(ids, texts, strict=True))
        )
    assert all(s.state.phase == LIVE for s in said)
    await settle()
    assert leads.started == 1  # the others wait their turn, not on the write lock
    leads.gate.set()
    await chat.close()
    assert leads.started == 3
    assert all([await lead_of(db, chat_id) is not None for chat_id in ids])


NURTURED = ["Nia Nurture", "nia@initech.example", "Initech", "5", "Not sure yet"]
NURTURED += ["Just researching"]  # -20 points: under SQL, and the phone question is skipped
SALES_READY = ["Sam Ready", "sam@initech.example", "Initech", "300", "Over $50k", "This month"]
SALES_READY += ["skip"]  # the optional phone


@pytest.mark.parametrize(
    ("answers", "state", "closing"),
    [
        (NURTURED, "nurture", "Someone from our team will be in touch."),
        (SALES_READY, "offered", "Someone from our team will reply right here shortly."),
    ],
    ids=["nurtured", "sales-ready"],
)
async def test_the_closing_line_says_what_happens_next(
    db: Database, clock: FakeClock, answers: list[str], state: str, closing: str
) -> None:
    """A rep replies in the chat only when the lead went to a queue; a nurtured visitor is
    not promised one (the closing is said once the capture has routed the lead)."""
    chat = await make_chat(db, clock, leads=make_leads(db, clock))
    visit = Visit(url="https://www.acme.example/")
    chat_id = (await chat.start(visit, origin=None, ip=None)).session_id
    for n, text in enumerate(answers):
        await chat.say(chat_id, text, f"m{n}")
    await chat.close()  # the capture has run
    async with db.reading() as session:
        lead = await session.scalar(
            select(Lead)
            .join(ChatSession, ChatSession.lead_id == Lead.id)
            .where(ChatSession.id == chat_id)
        )
        bot_lines = list(
            await session.scalars(
                select(ChatMessage.text)
                .where(ChatMessage.session_id == chat_id, ChatMessage.author == "bot")
                .order_by(ChatMessage.seq)
            )
        )
    assert lead is not None and lead.state == state
    assert bot_lines[-1].endswith(closing)
    assert sum("that's everything I need" in line for line in bot_lines) == 1
