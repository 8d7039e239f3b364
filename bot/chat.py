"""Widget conversation use cases: start/resume, a visitor's message, page views, idle capture.

Each method opens one unit of work. The script engine (`bot/domain/script.py`)
decides what the bot says; when the script finishes the lead is captured
through `Leads.capture`, whose transaction also links the conversation (so a
conversation becomes at most one lead, however many replicas race). After that
the conversation is live: visitor messages are relayed to the lead's Slack
thread through the outbox.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat_batch import GroupCommit, TurnBatcher
from bot.chat_turns import (
    RELAY_VISITOR_MESSAGE,
    ConversationClosed,
    Turn,
    TurnResult,
    Turns,
    UnknownSession,
    bot_draft,
    engine_state,
    state_of,
    stored_state,
)
from bot.chat_values import (
    QUALIFYING,
    ChatLine,
    ChatState,
    Opened,
    Said,
    Visit,
    draft_line,
    hint_json,
    line_of,
    source_of,
    touch_of,
)
from bot.clock import Clock
from bot.domain import script as engine
from bot.domain.contact import ContactError, parse_email, parse_phone
from bot.domain.lead import LeadState
from bot.leads import CaptureRequest, LeadIntake, Leads
from store import chat as chat_store
from store import leads as lead_store
from store.chat import Conversation
from store.db import Database

__all__ = ["RELAY_VISITOR_MESSAGE", "Chat", "ChatSetup", "ConversationClosed", "UnknownSession"]

_T = TypeVar("_T")
Publish = Callable[[str, list[ChatLine]], Awaitable[None]]


class _AlreadyLinked(Exception):
    """Another capture linked this conversation first; roll this one back."""


#: A finished conversation still without a lead this long after its last turn has lost
#: its capture (see `Chat.capture_idle`); in-flight captures take milliseconds.
RECAPTURE_AFTER = timedelta(seconds=30)
#: Finished conversations captured in one transaction on SQLite (`Leads.capture_all`):
#: enough to share the commit and the writer's wait, few enough that the turns
#: waiting for the write lock meanwhile wait tens of milliseconds at most.
CAPTURE_GROUP = 3
#: Turns (and new conversations) stored per transaction: a batch holds the loop while it
#: runs on SQLite, so after a stall a batch of 200 kept the next turns waiting 240 ms.
TURN_BATCH = 30


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ChatSetup:
    script: engine.Script
    phone_region: str
    idle_after: timedelta


class Chat:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        leads: Leads,
        setup: ChatSetup,
        wake_outbox: Callable[[], None],
        publish: Publish,
        *,
        max_batch: int = TURN_BATCH,
    ) -> None:
        self._db = db
        self._clock = clock
        self._leads = leads
        self._setup = setup
        self._wake_outbox = wake_outbox
        self._publish = publish
        turns = Turns(db, setup.script, setup.phone_region)
        self._turns = TurnBatcher(
            turns.batch,
            turns.one,
            self._capture_turns,
            max_batch=max_batch,
            # On PostgreSQL a capture holds its contact locks until commit: grouped, two
            # replicas' groups could each hold a lock the other waits for.
            max_capture=CAPTURE_GROUP if db.is_sqlite else 1,
        )
        self._starts = GroupCommit(self._store_starts, max_batch=max_batch)

    # ------------------------------------------------------------------ opening

    async def resume(self, token: str, visit: Visit) -> Opened | None:
        """Resume the conversation of `token`, or None when the token is unknown or its
        conversation has ended (an erasure closed it): the visitor then starts afresh,
        and nothing more is stored on the erased conversation."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await chat_store.by_token_hash(session, token_hash(token))
            if row is None or row.closed_at is not None:
                return None
            values: dict[str, Any] = {"last_seen_at": now}
            touch = touch_of(visit, now)
            if touch is not None:
                values["last_touch"] = touch
            await chat_store.update_session(session, row.id, **values)
            await self._record_view(session, row.id, visit)
            history = [line_of(m) for m in await chat_store.history(session, row.id)]
        return Opened(token, row.id, True, history, state_of(row))

    async def start(self, visit: Visit, *, origin: str | None, ip: str | None) -> Opened:
        """A new conversation: greeting and first question stored, a fresh token handed out.

        Starts queued together are stored in one transaction (`GroupCommit`)."""
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        turn = engine.start(self._setup.script)
        new = chat_store.NewConversation(
            id=str(uuid.uuid4()),
            token_hash=token_hash(token),
            origin=origin,
            ip=ip,
            script_state=stored_state(turn.state, turn.input),
            touch=touch_of(visit, now, first=True),
            opening=[bot_draft(line) for line in turn.say],
            page=chat_store.PageSeen(visit.url, visit.referrer, visit.title) if visit.url else None,
            now=now,
        )
        await self._starts.submit(new)
        opening = [
            ChatLine(seq, d.author, d.text, now, tuple(d.choices or ()))
            for seq, d in enumerate(new.opening, start=1)
        ]
        return Opened(token, new.id, False, opening, ChatState(QUALIFYING, hint_json(turn.input)))

    async def _store_starts(self, new: Sequence[chat_store.NewConversation]) -> None:
        await self._db.write_core(lambda conn: chat_store.create_sessions(conn, new))

    async def view_page(self, chat_id: str, visit: Visit) -> None:
        """Record a page view; `ConversationClosed` (nothing stored) once it has ended."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            values: dict[str, Any] = {"last_seen_at": now}
            touch = touch_of(visit, now)
            if touch is not None:
                values["last_touch"] = touch
            if not await chat_store.update_open_session(session, chat_id, **values):
                raise ConversationClosed(chat_id)
            await self._record_view(session, chat_id, visit)

    async def mark_read(self, chat_id: str, up_to: int) -> None:
        """How far the visitor has read; an ended conversation keeps what it had."""
        async with self._db.transaction() as session:
            await chat_store.update_open_session(session, chat_id, visitor_read_seq=up_to)

    # ------------------------------------------------------------------ a visitor's message

    async def say(self, chat_id: str, text: str, client_id: str) -> Said:
        """Store a visitor message once per `client_id`; run the script or relay it live.

        The turn is stored with whatever other turns are queued, in one transaction
        (bot/chat_batch.py). A turn that finishes the script is answered as soon as
        it is stored; its capture runs after, in its own transaction, while the
        conversation's next turns wait for it (`_capture_turns`)."""
        result = await self._turns.submit(Turn(chat_id, text, client_id, self._clock.now()))
        if result.relayed:
            self._wake_outbox()
        return Said(result.seq, result.duplicate, result.replies, result.state)

    async def _capture_turns(self, results: Sequence[TurnResult]) -> list[Exception | None]:
        """Capture conversations whose script a turn has just finished (or a resend of that
        turn finds finished and uncaptured: it retries a capture that failed), together:
        per conversation its error, or None (captured, or linked by another capture)."""
        items = [(r.row, r.capture) for r in results if r.capture is not None]
        assert len(items) == len(results)
        outcomes = await self._capture_group(items)
        return [o if isinstance(o, Exception) else None for o in outcomes]

    async def close(self) -> None:
        """Finish the turns and captures in flight and take no more (the app is stopping)."""
        await self._turns.close()
        await self._starts.close()

    # ------------------------------------------------------------------ capture

    async def capture_idle(self) -> int:
        """Capture what a turn left uncaptured, and quiet conversations worth a (partial) lead.

        First, conversations whose script finished without a lead being linked (the
        process stopped, or the capture failed, after the finishing turn had
        committed) and quiet for `RECAPTURE_AFTER`, so a capture still in flight (on
        another replica; this one knows its own) is not raced for nothing (a race is
        harmless: the first link wins, the other rolls back).
        Then those quiet for `idle_after` since the visitor's last message that left
        an email or phone. Conversations with nothing worth a lead are marked checked,
        so they are looked at again only after the visitor speaks again.
        """
        now = self._clock.now()
        async with self._db.reading() as session:
            due = await chat_store.finished_uncaptured(session, quiet_since=now - RECAPTURE_AFTER)
            due += await chat_store.idle_candidates(
                session, quiet_since=now - self._setup.idle_after
            )
        captured = 0
        for row in {row.id: row for row in due}.values():
            if self._turns.capturing(row.id):  # its capture is on its way, here
                continue
            state = engine_state(row)
            outcome = state.finished or engine.abandon(self._setup.script, state)
            if outcome is None:
                async with self._db.transaction() as session:
                    await chat_store.update_session(session, row.id, idle_checked_at=now)
                continue
            if await self._capture(row, outcome):
                captured += 1
        return captured

    async def _capture(self, row: Conversation, outcome: engine.Outcome) -> bool:
        """Capture the conversation as a lead; False when another capture linked it first."""
        [result] = await self._capture_group([(row, outcome)])
        if isinstance(result, Exception):
            raise result
        return result

    async def _capture_group(
        self, items: Sequence[tuple[Conversation, engine.Outcome]]
    ) -> list[bool | Exception]:
        """Capture each conversation, all in one transaction (`Leads.capture_all`): per
        item True, False when another capture linked it first, or the item's error.
        Raises if the transaction itself fails (then none is captured)."""
        prepared: list[tuple[CaptureRequest, list[ChatLine]] | Exception] = []
        for row, outcome in items:
            try:
                prepared.append(self._capture_request(row, outcome))
            except Exception as exc:  # a bad stored state fails its own capture only
                prepared.append(exc)
        requests = [p[0] for p in prepared if not isinstance(p, Exception)]
        captured = iter(await self._leads.capture_all(requests) if requests else [])
        results: list[bool | Exception] = []
        for (row, _), ready in zip(items, prepared, strict=True):
            if isinstance(ready, Exception):
                results.append(ready)
                continue
            result = next(captured)
            if isinstance(result, _AlreadyLinked):
                results.append(False)
            elif isinstance(result, Exception):
                results.append(result)
            else:
                row.lead_id = result.lead_id
                if said := ready[1]:
                    await self._publish(row.id, said)
                results.append(True)
        return results

    def _capture_request(
        self, row: Conversation, outcome: engine.Outcome
    ) -> tuple[CaptureRequest, list[ChatLine]]:
        """The conversation as a lead to capture, and the lines its `then` will have said."""
        script = self._setup.script
        state = engine_state(row)
        contact = engine.contact_fields(script, state)
        first = row.first_touch or {}
        intake = LeadIntake(
            intake="widget",
            email=_or_none(lambda: parse_email(contact["email"])) if "email" in contact else None,
            phone=_or_none(lambda: parse_phone(contact["phone"], self._setup.phone_region))
            if "phone" in contact
            else None,
            name=contact.get("name"),
            company=contact.get("company"),
            source=source_of(first),
            answers=dict(engine.answers_for_lead(script, state)),
            utm=dict(first.get("utm") or {}),
            page=first.get("page"),
            referrer=first.get("referrer"),
            asked_for_human=outcome is engine.Outcome.HUMAN,
            chat_id=row.id,
        )
        said: list[ChatLine] = []

        async def link(session: AsyncSession, lead_id: int, state: LeadState) -> None:
            closing = []
            if outcome is not engine.Outcome.HUMAN:  # the engine said that one already
                nurtured = state is LeadState.NURTURE
                closing = [bot_draft(engine.closing(script, outcome, nurtured=nurtured))]
            now = self._clock.now()
            seqs = await chat_store.link_lead(session, row.id, lead_id, closing, now=now)
            if seqs is None:
                raise _AlreadyLinked
            # (A visitor's "talk to a human" is in the intake: the lead was stored with it.)
            if row.last_touch and row.last_touch != row.first_touch:
                last_touch = {**row.last_touch, "source": source_of(row.last_touch)}
                await lead_store.set_lead(session, lead_id, last_touch=last_touch)
            said.extend(draft_line(seq, d, now) for seq, d in zip(seqs, closing, strict=True))

        return CaptureRequest(intake, f"widget:{row.id}", link), said

    # ------------------------------------------------------------------ helpers

    async def _record_view(self, session: AsyncSession, chat_id: str, visit: Visit) -> None:
        if visit.url:
            await chat_store.add_page_view(
                session,
                chat_id=chat_id,
                url=visit.url,
                referrer=visit.referrer,
                title=visit.title,
                now=self._clock.now(),
            )


def _or_none(parse: Callable[[], _T]) -> _T | None:
    try:
        return parse()
    except ContactError:
        return None
