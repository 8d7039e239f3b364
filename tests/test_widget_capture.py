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
from bot.domain.contact import parse_email
from bot.leads import Captured, CaptureRequest, LeadIntake, Leads
from store.db import Database
from store.models import ChatMessage, ChatSession, Lead, LeadEvent, OutboxMessage, Timer
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
        #: The size of each group of captures started, in order.
        self.groups: list[int] = []

    @property
    def started(self) -> int:
        return sum(self.groups)

    async def capture_all(self, requests: Sequence[CaptureRequest]) -> list[Captured | Exception]:
        self.groups.append(len(requests))
        if self.fail:
            raise RuntimeError("the process stopped before the capture committed")
        await self.gate.wait()
        return await self._leads.capture_all(requests)

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


async def test_captures_run_one_group_at_a_time_behind_the_answers(
    db: Database, clock: FakeClock
) -> None:
    leads = GatedLeads(make_leads(db, clock))
    chat = await make_chat(db, clock, leads=leads.leads())
    ids = [(await chat.start(VISIT, origin=None, ip=None)).session_id for _ in range(4)]

    async def finish(chat_ids: list[str]) -> None:
        for n, text in enumerate(FINISHING):
            texts = [text.replace("ada", f"ada{chat_id[:8]}") for chat_id in chat_ids]
            said = await asyncio.gather(
                *(chat.say(c, t, f"m{n}") for c, t in zip(chat_ids, texts, strict=True))
            )
        assert all(s.state.phase == LIVE for s in said)

    await finish(ids[:3])
    await settle()
    # Finished together: one transaction on SQLite; one at a time on PostgreSQL, whose
    # captures hold contact locks until commit. The rest wait their turn, not on the lock.
    assert leads.groups == ([3] if db.is_sqlite else [1])
    await finish(ids[3:])  # finishes while the first group's capture is still running
    await settle()
    assert leads.groups == ([3] if db.is_sqlite else [1])
    leads.gate.set()
    await chat.close()
    assert leads.groups == ([3, 1] if db.is_sqlite else [1, 1, 1, 1])
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


async def test_captures_in_one_transaction_fail_one_by_one(db: Database, clock: FakeClock) -> None:
    """`Leads.capture_all`: a capture whose `then` refuses stores nothing, the others
    commit, and a person captured twice in one group is merged into one lead there."""
    leads = make_leads(db, clock)
    await make_chat(db, clock)  # the directory: reps and queues

    async def refuse(*_args: object) -> None:
        raise ValueError("linked elsewhere")

    def asking(email: str, then: Any = None) -> CaptureRequest:
        intake = LeadIntake(
            intake="widget", email=parse_email(email), name=email, asked_for_human=True
        )
        return CaptureRequest(intake, "test", then)

    results = await leads.capture_all(
        [
            asking("ann@example.com"),
            asking("bob@example.com", refuse),
            asking("Ann@Example.com"),  # the same person as the first
            asking("cy@example.com"),
        ]
    )
    first, refused, again, last = results
    assert isinstance(refused, ValueError)
    assert isinstance(first, Captured) and isinstance(again, Captured)
    assert isinstance(last, Captured) and not first.merged and not last.merged
    assert again.merged and again.lead_id == first.lead_id
    async with db.reading() as session:
        emails = (await session.scalars(select(Lead.email_normalized))).all()
        cards = await session.scalar(select(func.count()).where(OutboxMessage.kind == "post_card"))
    assert sorted(emails) == ["ann@example.com", "cy@example.com"]
    assert cards == 2


async def test_a_lone_capture_that_fails_stores_nothing_and_is_returned(
    db: Database, clock: FakeClock
) -> None:
    """A group of one runs without a savepoint: its failure rolls back the whole
    transaction (lead, events, card, offer, timers) and comes back as its result."""
    leads = make_leads(db, clock)
    await make_chat(db, clock)

    async def refuse(*_args: object) -> None:
        raise ValueError("linked elsewhere")

    intake = LeadIntake(intake="widget", email=parse_email("dee@example.com"), asked_for_human=True)
    [refused] = await leads.capture_all([CaptureRequest(intake, "test", refuse)])
    assert isinstance(refused, ValueError)
    async with db.reading() as session:
        for model in (Lead, LeadEvent, OutboxMessage, Timer):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
    [captured] = await leads.capture_all([CaptureRequest(intake, "test")])
    assert isinstance(captured, Captured) and not captured.merged


async def test_a_failed_group_of_captures_is_retried_one_at_a_time(
    db: Database, clock: FakeClock
) -> None:
    """If the group's transaction fails (a lost connection, say), each capture runs alone,
    so only a capture that fails by itself is left for `capture_idle`."""

    class GroupsFail(GatedLeads):
        async def capture_all(
            self, requests: Sequence[CaptureRequest]
        ) -> list[Captured | Exception]:
            if len(requests) > 1:
                self.groups.append(len(requests))
                raise RuntimeError("connection lost mid-group")
            return await super().capture_all(requests)

    leads = GroupsFail(make_leads(db, clock))
    leads.gate.set()
    chat = await make_chat(db, clock, leads=leads.leads())
    ids = [(await chat.start(VISIT, origin=None, ip=None)).session_id for _ in range(3)]
    for n, text in enumerate(FINISHING):
        texts = [text.replace("ada", f"ada{c}") for c in range(len(ids))]
        await asyncio.gather(
            *(chat.say(chat_id, t, f"m{n}") for chat_id, t in zip(ids, texts, strict=True))
        )
    await chat.close()
    assert leads.groups == ([3, 1, 1, 1] if db.is_sqlite else [1, 1, 1])
    assert all([await lead_of(db, chat_id) is not None for chat_id in ids])
