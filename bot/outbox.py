"""The outbox dispatcher: delivers stored intents to Slack, once, in order, with backoff.

Correctness rests on three things: a row is leased to one worker at a time
(`store.outbox.lease_due`); a channel's rows go out in id order and a failure
holds back the rows behind it; and a card whose post may have reached Slack
without its `ts` being recorded (a crash mid-call) is looked up by the lead id
in its message metadata before it is posted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.lead import LeadSnapshot
from bot.domain.merge import LeadMerge
from bot.leads import POST_CARD, POST_THREAD_NOTE, UPDATE_CARD
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database
from store.models import OutboxMessage

log = logging.getLogger(__name__)

CARD_EVENT_TYPE = "leadbot_lead"
#: How long a card may wait for its first post before an update of it is given up.
MAX_UPDATE_WAITS = 30


class SlackError(Exception):
    """A Slack call failed; subclasses say whether trying again can help."""


class TransientSlackError(SlackError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSlackError(SlackError):
    """Slack said no for a reason that retrying will not fix (e.g. `channel_not_found`)."""


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    blocks: list[dict[str, Any]]


class MessageSender(Protocol):
    async def post_message(
        self, channel: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> str: ...

    async def update_message(
        self, channel: str, ts: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> None: ...

    async def find_message_by_metadata(
        self, channel: str, event_type: str, key: str, value: str, oldest: datetime
    ) -> str | None: ...

    async def post_thread_message(
        self, channel: str, thread_ts: str, message: RenderedMessage
    ) -> str: ...


CardRenderer = Callable[[LeadSnapshot, datetime], RenderedMessage]
MergeNoteRenderer = Callable[[LeadSnapshot, LeadMerge], RenderedMessage]
#: Where a delivery posted its message: (channel, or a user id for a DM; ts).
PostedCopy = tuple[str, str]
#: Delivers one row of a kind registered by another capability (e.g. the chat relay);
#: raises Transient/PermanentSlackError like the built-in kinds, and is marked sent on return.
#: It returns where it posted a message about the row's lead, if it did and an erasure
#: should be able to overwrite it (store/outbox.py: `record_copies`).
RowHandler = Callable[[OutboxMessage], Awaitable[PostedCopy | None]]
#: A `RowHandler` that is also given the row's lead, read with the pass's new cards when
#: the rows were leased (one read per pass, not one per row, each waiting for a turn of a
#: busy loop; if that read failed, the dispatcher reads the row's own). None: the row has
#: no lead, or its lead no longer exists.
LeadRowHandler = Callable[[OutboxMessage, LeadSnapshot | None], Awaitable[PostedCopy | None]]


def card_metadata(lead_id: int) -> dict[str, Any]:
    return {"event_type": CARD_EVENT_TYPE, "event_payload": {"lead_id": str(lead_id)}}


def backoff_delay(attempts: int, retry_after: float | None, cap: float) -> float:
    """Exponential backoff with jitter, never shorter than Slack's `Retry-After`."""
    delay = min(cap, 0.5 * 2 ** max(0, attempts - 1)) * (1 + random.random() * 0.25)
    return float(max(delay, retry_after or 0.0))


class OutboxDispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        sender: MessageSender,
        render_card: CardRenderer,
        *,
        render_merge_note: MergeNoteRenderer | None = None,
        lease: timedelta = timedelta(seconds=120),
        poll_interval: float = 1.0,
        batch_size: int = 100,
        max_backoff: float = 60.0,
        concurrency: int = 8,
    ) -> None:
        self._db = db
        self._clock = clock
        self._sender = sender
        self._render_card = render_card
        self._render_merge_note = render_merge_note
        self._handlers: dict[str, RowHandler] = {}
        self._lead_handlers: dict[str, LeadRowHandler] = {}
        self._lease = lease
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_backoff = max_backoff
        self._concurrency = asyncio.Semaphore(concurrency)
        self.owner = f"dispatcher-{uuid.uuid4().hex[:12]}"
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # Delivered rows not yet marked sent: (row id, (lead id, channel, ts) of a new card,
        # where the row posted a copy of something about its lead).
        self._marks: list[tuple[int, tuple[int, str, str] | None, PostedCopy | None]] = []
        self._marking: asyncio.Task[None] | None = None

    def register(self, kind: str, handler: RowHandler) -> None:
        """Deliver rows of `kind` with `handler` (same ordering, leasing and backoff)."""
        self._handlers[kind] = handler

    def register_with_lead(self, kind: str, handler: LeadRowHandler) -> None:
        """Deliver rows of `kind` with `handler`, giving it the row's lead (`LeadRowHandler`)."""
        self._lead_handlers[kind] = handler

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wakeup.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        """Finish the batch in hand (graceful shutdown drains in-flight work), then stop."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying after the poll interval")
                handled = 0
            if handled or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_interval)
            self._wakeup.clear()

    async def run_once(self) -> int:
        """Lease what is due, deliver it; returns how many rows were leased."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            rows = await outbox_store.lease_due(
                session, owner=self.owner, now=now, lease=self._lease, limit=self._batch_size
            )
            # New cards' leads (and those of rows whose handler takes the lead) are read in
            # one go, in the lease's transaction: a read per row, each waiting for its turn of
            # a busy loop, made a channel's cards queue up behind each other and a pass of
            # offer DMs last seconds; a read of its own (on SQLite a reader thread) waited too.
            cards = await self._load_cards(
                session,
                [r.lead_id for r in rows if r.kind == POST_CARD or r.kind in self._lead_handlers],
            )
        # One group per key, each in id order (rows of several keys interleave by id).
        groups: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            groups.setdefault(row.ordering_key, []).append(row)
        await asyncio.gather(*(self._deliver_group(group, cards) for group in groups.values()))
        await self._marks_written()
        return len(rows)

    async def _load_cards(
        self, session: AsyncSession, lead_ids: list[int | None]
    ) -> dict[int, lead_store.StoredCard]:
        """The leads' cards, read in a savepoint of the lease: if the read fails, the lease
        still commits and each row reads its own lead (failing, and retrying, alone)."""
        ids = [i for i in lead_ids if i is not None]
        if not ids:
            return {}
        try:
            async with session.begin_nested():
                return await lead_store.lead_cards(session, ids)
        except Exception:
            log.exception("reading %d cards failed", len(ids))
            return {}

    async def _deliver_group(
        self, rows: list[OutboxMessage], cards: dict[int, lead_store.StoredCard]
    ) -> None:
        async with self._concurrency:
            for index, row in enumerate(rows):
                if index and row.kind != POST_CARD and row.kind not in self._lead_handlers:
                    # It may read what the rows before it recorded (a card's ts, a copy's
                    # place). A new card reads nothing recorded, and a lead handler's row
                    # is given its lead as read at the lease: neither waits for a commit.
                    await self._marks_written()
                if not await self._deliver(row, cards):
                    async with self._db.transaction() as session:
                        await outbox_store.release(
                            session, row_ids=[r.id for r in rows[index + 1 :]], owner=self.owner
                        )
                    return

    async def _deliver(
        self, row: OutboxMessage, cards: dict[int, lead_store.StoredCard] | None = None
    ) -> bool:
        """Deliver one row; False means it is backing off and the rows behind it must wait.

        `cards`: the leads of new cards (and of rows for a `LeadRowHandler`) as read when
        their rows were leased (a card's post row is leased once at a time, and a later
        change re-renders it by its own `update_card` row, so that read is fresh enough)."""
        try:
            if row.kind == POST_CARD:
                await self._post_card(row, (cards or {}).get(row.lead_id or 0))
            elif row.kind == UPDATE_CARD:
                await self._update_card(row)
            elif row.kind == POST_THREAD_NOTE:
                await self._post_thread_note(row)
            elif row.kind in self._handlers:
                self._sent(row, copy=await self._handlers[row.kind](row))
            elif row.kind in self._lead_handlers:
                card = (cards or {}).get(row.lead_id or 0) or await self._stored_card(row.lead_id)
                lead = card.snapshot if card is not None else None
                self._sent(row, copy=await self._lead_handlers[row.kind](row, lead))
            else:
                raise PermanentSlackError(f"unknown outbox kind {row.kind!r}")
        except PermanentSlackError as exc:
            log.error("outbox row %s (%s) failed for good: %s", row.id, row.kind, exc)
            await self._fail(row, str(exc), retry=False)
            return True
        except TransientSlackError as exc:
            log.warning("outbox row %s (%s) will retry: %s", row.id, row.kind, exc)
            await self._fail(row, str(exc), retry=True, retry_after=exc.retry_after)
            return False
        except Exception as exc:
            log.exception("outbox row %s (%s) raised; will retry", row.id, row.kind)
            await self._fail(row, repr(exc), retry=True)
            return False
        return True

    async def _fail(
        self, row: OutboxMessage, error: str, *, retry: bool, retry_after: float | None = None
    ) -> None:
        next_at = None
        if retry:
            delay = backoff_delay(row.attempts, retry_after, self._max_backoff)
            next_at = self._clock.now() + timedelta(seconds=delay)
        async with self._db.transaction() as session:
            await outbox_store.mark_failed(
                session, row_id=row.id, owner=self.owner, error=error, next_attempt_at=next_at
            )

    async def _stored_card(self, lead_id: int | None) -> lead_store.StoredCard | None:
        """One lead's card as stored now; None without a lead id or a lead."""
        if lead_id is None:
            return None
        async with self._db.reading() as session:
            return (await lead_store.lead_cards(session, [lead_id])).get(lead_id)

    async def _load_card(self, lead_id: int | None) -> tuple[LeadSnapshot, str | None, str | None]:
        if lead_id is None:
            raise PermanentSlackError("card row without a lead")
        card = await self._stored_card(lead_id)
        if card is None:
            raise PermanentSlackError(f"lead {lead_id} no longer exists")
        return card.snapshot, card.channel_id, card.ts

    async def _post_card(self, row: OutboxMessage, card: lead_store.StoredCard | None) -> None:
        if card is None:
            snapshot, _, posted_ts = await self._load_card(row.lead_id)
        else:
            snapshot, posted_ts = card.snapshot, card.ts
        channel = str(row.payload["channel"])
        ts = posted_ts
        if ts is None and row.attempts > 1:
            # An earlier attempt may have reached Slack before we crashed or timed out.
            ts = await self._sender.find_message_by_metadata(
                channel,
                CARD_EVENT_TYPE,
                "lead_id",
                str(snapshot.id),
                oldest=row.created_at - timedelta(minutes=5),
            )
            if ts is not None:
                log.info("lead %s card found by metadata at %s; not posting again", snapshot.id, ts)
        if ts is None:
            message = self._render_card(snapshot, self._clock.now())
            ts = await self._sender.post_message(channel, message, card_metadata(snapshot.id))
        self._sent(row, (snapshot.id, channel, ts) if posted_ts is None else None)

    async def _load_posted_card(self, row: OutboxMessage) -> tuple[LeadSnapshot, str, str]:
        """The lead and where its card is; waits (by backing off) until the card is posted."""
        snapshot, channel, ts = await self._load_card(row.lead_id)
        if channel is None or ts is None:
            if row.attempts >= MAX_UPDATE_WAITS:
                raise PermanentSlackError(f"lead {snapshot.id} card was never posted")
            raise TransientSlackError(f"lead {snapshot.id} card not posted yet", retry_after=1.0)
        return snapshot, channel, ts

    async def _update_card(self, row: OutboxMessage) -> None:
        snapshot, channel, ts = await self._load_posted_card(row)
        message = self._render_card(snapshot, self._clock.now())
        await self._sender.update_message(channel, ts, message, card_metadata(snapshot.id))
        self._sent(row)

    async def _post_thread_note(self, row: OutboxMessage) -> None:
        if self._render_merge_note is None:
            raise PermanentSlackError("no renderer for thread notes")
        snapshot, channel, ts = await self._load_posted_card(row)
        merge = LeadMerge.from_payload(row.payload.get("merge") or {})
        message = self._render_merge_note(snapshot, merge)
        note_ts = await self._sender.post_thread_message(channel, ts, message)
        self._sent(row, copy=(channel, note_ts))

    def _sent(
        self,
        row: OutboxMessage,
        card: tuple[int, str, str] | None = None,
        *,
        copy: PostedCopy | None = None,
    ) -> None:
        """Mark a delivered row sent (with a new card's ts), soon, together with others.

        The marks of a pass are written in one transaction while the next posts go
        on; a pass ends, and a row that may read them starts, only once they are
        committed. A crash (or failed write) before then leaves the row leased and
        pending, as a crash right after the Slack call always could: it is retried
        when its lease runs out, and a card is then found by its metadata.
        """
        self._marks.append((row.id, card, copy))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._write_marks(), name="outbox-marks")

    async def _write_marks(self) -> None:
        while self._marks:
            marks, self._marks = self._marks, []
            try:
                async with self._db.transaction() as session:
                    for card in (card for _, card, _ in marks if card is not None):
                        lead_id, channel, ts = card
                        await lead_store.record_card(
                            session, lead_id=lead_id, channel_id=channel, ts=ts
                        )
                    await outbox_store.record_copies(
                        session, [(row_id, *copy) for row_id, _, copy in marks if copy]
                    )
                    await outbox_store.mark_sent_many(
                        session,
                        row_ids=[row_id for row_id, _, _ in marks],
                        owner=self.owner,
                        now=self._clock.now(),
                    )
            except Exception:
                log.exception(
                    "marking %d outbox rows sent failed; retried after the lease", len(marks)
                )

    async def _marks_written(self) -> None:
        while self._marking is not None and not self._marking.done():
            await asyncio.shield(self._marking)
