"""The outbox dispatcher against the real store and a recording fake Slack."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.clock import FakeClock
from bot.domain.contact import parse_email
from bot.leads import QueueTarget
from bot.outbox import (
    CARD_EVENT_TYPE,
    OutboxDispatcher,
    PermanentSlackError,
    RenderedMessage,
    TransientSlackError,
)
from handlers.cards import render_lead_card, render_merge_note
from store.db import Database
from store.models import Lead, OutboxMessage, Rep
from tests.factories import intake, make_leads, seed_directory


class RecordingSender:
    """A fake Slack that keeps posted messages and can be told to fail."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, dict[str, Any] | None]] = []
        self.updates: list[tuple[str, str, str]] = []
        self.thread_posts: list[tuple[str, str, str]] = []
        self.lookups = 0
        self.failures: list[Exception] = []
        self._ts = 1700000000

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts}.000100"

    async def post_message(
        self, channel: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> str:
        if self.failures:
            raise self.failures.pop(0)
        ts = self._next_ts()
        self.posts.append((channel, ts, metadata))
        return ts

    async def update_message(
        self, channel: str, ts: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.updates.append((channel, ts, message.text))

    async def find_message_by_metadata(
        self, channel: str, event_type: str, key: str, value: str, oldest: datetime
    ) -> str | None:
        self.lookups += 1
        for posted_channel, ts, metadata in self.posts:
            if (
                posted_channel == channel
                and metadata
                and metadata["event_type"] == event_type
                and metadata["event_payload"].get(key) == value
            ):
                return ts
        return None

    async def post_thread_message(
        self, channel: str, thread_ts: str, message: RenderedMessage
    ) -> str:
        if self.failures:
            raise self.failures.pop(0)
        ts = self._next_ts()
        self.thread_posts.append((channel, thread_ts, message.text))
        return ts

    def posted_lead_ids(self) -> list[int]:
        return [int(m["event_payload"]["lead_id"]) for _, _, m in self.posts if m]


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def dispatcher(db: Database, clock: FakeClock, sender: RecordingSender) -> OutboxDispatcher:
    return OutboxDispatcher(db, clock, sender, render_lead_card)


@pytest.fixture
async def queue(db: Database) -> QueueTarget:
    """The queue's reps are all away, so leads are open to the channel and no offer DMs
    join the channel's rows: these tests are about the channel's cards."""
    async with db.transaction() as session:
        target = await seed_directory(session)
        await session.execute(update(Rep).values(away=True))
    return target


async def capture(db: Database, clock: FakeClock, queue: QueueTarget, n: int = 1) -> list[int]:
    leads = make_leads(db, clock)
    return [await leads.capture(intake(name=f"Lead {i}"), actor="test") for i in range(n)]


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_card_is_posted_once_and_its_ts_recorded(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    [lead_id] = await capture(db, clock, queue)
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0
    assert sender.posted_lead_ids() == [lead_id]
    channel, ts, metadata = sender.posts[0]
    assert channel == "C0SALES01" and metadata == {
        "event_type": CARD_EVENT_TYPE,
        "event_payload": {"lead_id": str(lead_id)},
    }
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None and (lead.slack_channel_id, lead.slack_ts) == ("C0SALES01", ts)
    assert [r.status for r in await outbox_rows(db)] == ["sent"]


async def test_a_failure_holds_back_the_channel_and_order_is_kept(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    ids = await capture(db, clock, queue, n=3)
    sender.failures = [TransientSlackError("ratelimited", retry_after=5)]
    await dispatcher.run_once()
    assert sender.posts == []
    rows = await outbox_rows(db)
    assert rows[0].next_attempt_at >= clock.now() + timedelta(seconds=5)
    assert all(r.status == "pending" and r.lease_owner is None for r in rows)
    assert [r.attempts for r in rows] == [1, 0, 0]  # held-back rows were not tried
    clock.advance(4)
    assert await dispatcher.run_once() == 0  # the head is backing off, so nothing may overtake it
    clock.advance(10)
    await dispatcher.run_once()
    assert sender.posted_lead_ids() == ids


async def test_permanent_failure_is_dead_and_does_not_block(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    ids = await capture(db, clock, queue, n=2)
    sender.failures = [PermanentSlackError("invalid_blocks")]
    await dispatcher.run_once()
    assert sender.posted_lead_ids() == [ids[1]]
    assert [(r.status, r.last_error) for r in await outbox_rows(db)] == [
        ("dead", "invalid_blocks"),
        ("sent", None),
    ]


async def test_unexpected_exception_backs_off_instead_of_dropping(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    [lead_id] = await capture(db, clock, queue)
    sender.failures = [RuntimeError("boom")]
    await dispatcher.run_once()
    clock.advance(120)
    await dispatcher.run_once()
    assert sender.posted_lead_ids() == [lead_id]


async def test_card_posted_before_a_crash_is_found_by_metadata_not_reposted(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    [lead_id] = await capture(db, clock, queue)
    # A previous process leased the row, posted the card, and died before recording the ts.
    crashed = OutboxDispatcher(db, clock, sender, render_lead_card)
    async with db.transaction() as session:
        from store import outbox as outbox_store

        assert await outbox_store.lease_due(
            session, owner=crashed.owner, now=clock.now(), lease=timedelta(seconds=120)
        )
    message = render_lead_card(*(await _snapshot(db, lead_id, clock)))
    await sender.post_message(
        "C0SALES01",
        message,
        {"event_type": CARD_EVENT_TYPE, "event_payload": {"lead_id": str(lead_id)}},
    )
    clock.advance(60)
    assert await dispatcher.run_once() == 0  # still leased by the dead process
    clock.advance(61)
    assert await dispatcher.run_once() == 1
    assert sender.posted_lead_ids() == [lead_id]
    assert sender.lookups == 1
    async with db.reading() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None and lead.slack_ts == sender.posts[0][1]


async def _snapshot(db: Database, lead_id: int, clock: FakeClock):  # type: ignore[no-untyped-def]
    from store.leads import lead_snapshot

    async with db.reading() as session:
        return await lead_snapshot(session, lead_id), clock.now()


async def test_update_waits_for_the_post_and_renders_the_latest_state(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    [lead_id] = await capture(db, clock, queue)
    leads = make_leads(db, clock)
    await dispatcher.run_once()
    clock.advance(90)
    assert (await leads.claim(lead_id, "U0REP001")).won
    await dispatcher.run_once()
    assert len(sender.updates) == 1
    channel, ts, text = sender.updates[0]
    assert (channel, ts) == ("C0SALES01", sender.posts[0][1])
    assert "claimed by <@U0REP001>" in text


async def test_first_attempt_does_not_search_history(db, clock, queue, dispatcher, sender) -> None:  # type: ignore[no-untyped-def]
    await capture(db, clock, queue, n=3)
    await dispatcher.run_once()
    assert sender.lookups == 0


async def test_two_dispatchers_never_post_a_lead_twice(db, clock, queue, sender) -> None:  # type: ignore[no-untyped-def]
    ids = await capture(db, clock, queue, n=30)
    first = OutboxDispatcher(db, clock, sender, render_lead_card)
    second = OutboxDispatcher(db, clock, sender, render_lead_card)
    for _ in range(5):
        await asyncio.gather(first.run_once(), second.run_once())
    assert sorted(sender.posted_lead_ids()) == ids
    assert sender.posted_lead_ids() == ids  # and in capture order


async def test_expired_lease_of_sent_row_cannot_be_marked_by_old_owner(
    db, clock, queue, dispatcher
) -> None:  # type: ignore[no-untyped-def]
    from store import outbox as outbox_store

    await capture(db, clock, queue)
    async with db.transaction() as session:
        [row] = await outbox_store.lease_due(
            session, owner="old", now=clock.now(), lease=timedelta(seconds=1)
        )
    async with db.transaction() as session:
        await session.execute(update(OutboxMessage).values(lease_owner="new"))
    async with db.transaction() as session:
        assert not await outbox_store.mark_sent(
            session, row_id=row.id, owner="old", now=clock.now()
        )


async def test_merge_note_goes_into_the_card_thread_after_the_card(
    db, clock, queue, sender
) -> None:  # type: ignore[no-untyped-def]
    dispatcher = OutboxDispatcher(
        db, clock, sender, render_lead_card, render_merge_note=render_merge_note
    )
    leads = make_leads(db, clock)
    email = parse_email("back@example.com")
    lead_id = await leads.capture(intake(email=email), actor="test")
    assert await leads.capture(intake(email=email, answers={"budget": "5"}), actor="t") == lead_id
    assert (await leads.claim(lead_id, "U0REP001")).won
    # One pass: the card, then its update, then the note, in order, in one channel.
    assert await dispatcher.run_once() == 4
    [(channel, card_ts, _)] = sender.posts
    assert len(sender.updates) == 2
    [(note_channel, thread_ts, text)] = sender.thread_posts
    assert (note_channel, thread_ts) == (channel, card_ts)
    assert text.startswith("<@U0REP001> ") and "came back" in text


async def test_merge_note_without_a_renderer_fails_for_good_not_silently(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    leads = make_leads(db, clock)
    email = parse_email("back@example.com")
    lead_id = await leads.capture(intake(email=email), actor="test")
    await leads.capture(intake(email=email), actor="test")
    await dispatcher.run_once()
    assert sender.posted_lead_ids() == [lead_id] and sender.thread_posts == []
    assert [(r.kind, r.status) for r in await outbox_rows(db)] == [
        ("post_card", "sent"),
        ("update_card", "sent"),
        ("post_thread_note", "dead"),
    ]


async def enqueue_rows(db: Database, clock: FakeClock, kind: str, lead_ids: list[int]) -> None:
    from store import outbox as outbox_store

    async with db.transaction() as session:
        for lead_id in lead_ids:
            await outbox_store.enqueue(
                session, kind=kind, ordering_key="dm:U0REP001", lead_id=lead_id, now=clock.now()
            )


async def test_a_lead_handler_is_given_each_rows_lead_as_read_at_the_lease(
    db, clock, queue, dispatcher, sender
) -> None:  # type: ignore[no-untyped-def]
    ids = await capture(db, clock, queue, n=2)
    await dispatcher.run_once()  # the cards
    given: list[tuple[int | None, int | None]] = []

    async def handler(row: OutboxMessage, lead: Any) -> tuple[str, str] | None:
        given.append((row.lead_id, None if lead is None else lead.id))
        return None

    dispatcher.register_with_lead("test_dm", handler)
    await enqueue_rows(db, clock, "test_dm", ids)
    assert await dispatcher.run_once() == 2
    assert given == [(ids[0], ids[0]), (ids[1], ids[1])]
    assert {r.status for r in await outbox_rows(db)} == {"sent"}


async def test_a_lead_handlers_rows_do_not_wait_for_each_others_marks(
    db, clock, queue, dispatcher, sender, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Rows given their lead read nothing that the rows before them record, so a key's
    DMs go out back to back, not a write transaction apart (under load, a pass of them
    took seconds and every new card waited for it)."""
    from store import outbox as outbox_store

    ids = await capture(db, clock, queue, n=3)
    await dispatcher.run_once()
    posted: list[int] = []

    async def handler(row: OutboxMessage, lead: Any) -> tuple[str, str] | None:
        posted.append(row.id)
        return "U0REP001", f"1700000000.{row.id:06d}"

    dispatcher.register_with_lead("test_dm", handler)
    await enqueue_rows(db, clock, "test_dm", ids)
    marks_may_commit = asyncio.Event()
    real_mark_sent_many = outbox_store.mark_sent_many

    async def held_mark_sent_many(*args: Any, **kwargs: Any) -> None:
        await marks_may_commit.wait()
        await real_mark_sent_many(*args, **kwargs)

    monkeypatch.setattr(outbox_store, "mark_sent_many", held_mark_sent_many)
    run = asyncio.create_task(dispatcher.run_once())
    try:
        for _ in range(200):  # all three delivered while the first mark is still held
            if len(posted) == 3:
                break
            await asyncio.sleep(0.01)
        assert len(posted) == 3
    finally:
        marks_may_commit.set()
    assert await run == 3
    assert [(r.kind, r.status) for r in await outbox_rows(db)][-3:] == [("test_dm", "sent")] * 3


async def test_a_failed_read_of_the_leads_still_delivers_each_row_reading_its_own(
    db, clock, queue, dispatcher, sender, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from store import leads as lead_store

    ids = await capture(db, clock, queue, n=2)
    real_lead_cards = lead_store.lead_cards
    calls = 0

    async def fails_first(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the pass's read failed")
        return await real_lead_cards(*args, **kwargs)

    given: list[Any] = []

    async def handler(row: OutboxMessage, lead: Any) -> tuple[str, str] | None:
        given.append(None if lead is None else lead.id)  # not read with the pass: on its own
        return None

    dispatcher.register_with_lead("test_dm", handler)
    await enqueue_rows(db, clock, "test_dm", ids[:1])
    monkeypatch.setattr(lead_store, "lead_cards", fails_first)
    assert await dispatcher.run_once() == 3
    assert sender.posted_lead_ids() == ids
    assert calls == 4  # the pass's read, then one per card and one for the DM's lead
    assert given == [ids[0]]
    assert [r.status for r in await outbox_rows(db)] == ["sent"] * 3
