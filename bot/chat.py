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

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat_values import (
    CLOSED,
    LIVE,
    LIVE_INPUT,
    QUALIFYING,
    ChatLine,
    ChatState,
    Opened,
    Said,
    Visit,
    hint_json,
    line_of,
    source_of,
    touch_of,
)
from bot.clock import Clock
from bot.domain import script as engine
from bot.domain.contact import ContactError, parse_email, parse_phone
from bot.leads import LeadIntake, Leads, QueueTarget, channel_key
from store import chat as chat_store
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database
from store.models import ChatMessage, ChatSession, Lead

#: Outbox kind: a visitor's live message, posted in the lead's card thread.
RELAY_VISITOR_MESSAGE = "relay_visitor_message"
CAPTURING = (engine.Outcome.COMPLETED, engine.Outcome.HUMAN)

_T = TypeVar("_T")
Publish = Callable[[str, list[ChatLine]], Awaitable[None]]


class UnknownSession(LookupError):
    """The conversation id is not (or no longer) stored."""


class _AlreadyLinked(Exception):
    """Another capture linked this conversation first; roll this one back."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ChatSetup:
    script: engine.Script
    queue: QueueTarget
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
    ) -> None:
        self._db = db
        self._clock = clock
        self._leads = leads
        self._setup = setup
        self._wake_outbox = wake_outbox
        self._publish = publish

    # ------------------------------------------------------------------ opening

    async def resume(self, token: str, visit: Visit) -> Opened | None:
        """Resume the conversation of `token`, or None when the token is unknown."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await chat_store.by_token_hash(session, token_hash(token))
            if row is None:
                return None
            values: dict[str, Any] = {"last_seen_at": now}
            touch = touch_of(visit, now)
            if touch is not None:
                values["last_touch"] = touch
            await chat_store.update_session(session, row.id, **values)
            await self._record_view(session, row.id, visit)
            history = [line_of(m) for m in await chat_store.history(session, row.id)]
        return Opened(token, row.id, True, history, self._state(row))

    async def start(self, visit: Visit, *, origin: str | None, ip: str | None) -> Opened:
        """A new conversation: greeting and first question stored, a fresh token handed out."""
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        turn = engine.start(self._setup.script)
        async with self._db.transaction() as session:
            row = await chat_store.create_session(
                session,
                id=str(uuid.uuid4()),
                token_hash=token_hash(token),
                now=now,
                origin=origin,
                ip=ip,
                script_state=_stored(turn.state, turn.input),
                touch=touch_of(visit, now, first=True),
            )
            await self._record_view(session, row.id, visit)
            lines = await self._bot_lines(session, row.id, turn.say)
        return Opened(token, row.id, False, lines, self._state(row))

    async def view_page(self, chat_id: str, visit: Visit) -> None:
        now = self._clock.now()
        async with self._db.transaction() as session:
            values: dict[str, Any] = {"last_seen_at": now}
            touch = touch_of(visit, now)
            if touch is not None:
                values["last_touch"] = touch
            await chat_store.update_session(session, chat_id, **values)
            await self._record_view(session, chat_id, visit)

    async def mark_read(self, chat_id: str, up_to: int) -> None:
        async with self._db.transaction() as session:
            await chat_store.update_session(session, chat_id, visitor_read_seq=up_to)

    # ------------------------------------------------------------------ a visitor's message

    async def say(self, chat_id: str, text: str, client_id: str) -> Said:
        """Store a visitor message once per `client_id`; run the script or relay it live."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await chat_store.lock_session(session, chat_id)
            if row is None:
                raise UnknownSession(chat_id)
            replies: list[ChatLine] = []
            existing = await chat_store.by_client_id(session, chat_id, client_id)
            if existing is not None:
                seq, duplicate = existing.seq, True
            else:
                turn = None
                if row.lead_id is None:
                    turn = engine.answer(
                        self._setup.script,
                        _engine_state(row),
                        text,
                        phone_region=self._setup.phone_region,
                    )
                drafts = [chat_store.Draft("visitor", text, client_id=client_id)]
                drafts += [_bot_draft(line) for line in (turn.say if turn else ())]
                message, *bot_lines = await chat_store.add_messages(
                    session, chat_id, drafts, now=now, lead_id=row.lead_id
                )
                seq, duplicate = message.seq, False
                replies = [line_of(m) for m in bot_lines]
                row.last_visitor_at = row.last_seen_at = now
                if turn is not None:
                    row.script_state = _stored(turn.state, turn.input)
                elif row.lead_id is not None:
                    await self._enqueue_relay(session, row.lead_id, message)
            finished = _engine_state(row).finished if row.lead_id is None else None
        if row.lead_id is not None and not duplicate:
            self._wake_outbox()
        elif finished in CAPTURING:
            # Also retries a capture that failed after the script had finished.
            await self._capture(row, finished)
        return Said(seq, duplicate, replies, self._state(row))

    async def _enqueue_relay(
        self, session: AsyncSession, lead_id: int, message: ChatMessage
    ) -> None:
        channel = await lead_store.card_channel(session, lead_id) or "none"
        await outbox_store.enqueue(
            session,
            kind=RELAY_VISITOR_MESSAGE,
            ordering_key=channel_key(channel),
            lead_id=lead_id,
            payload={"message_id": message.id},
            now=message.created_at,
        )

    # ------------------------------------------------------------------ capture

    async def capture_idle(self) -> int:
        """Turn quiet conversations that left an email or phone into (partial) leads.

        Due: no lead yet, and the visitor quiet for `idle_after` since their last
        message. Conversations with nothing worth a lead are marked checked, so
        they are looked at again only after the visitor speaks again.
        """
        now = self._clock.now()
        async with self._db.reading() as session:
            due = await chat_store.idle_candidates(
                session, quiet_since=now - self._setup.idle_after
            )
        captured = 0
        for row in due:
            state = _engine_state(row)
            outcome = state.finished or engine.abandon(self._setup.script, state)
            if outcome is None:
                async with self._db.transaction() as session:
                    await chat_store.update_session(session, row.id, idle_checked_at=now)
                continue
            if await self._capture(row, outcome):
                captured += 1
        return captured

    async def _capture(self, row: ChatSession, outcome: engine.Outcome) -> bool:
        """Capture the conversation as a lead; False when another capture linked it first."""
        script = self._setup.script
        state = _engine_state(row)
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
        )
        closing = engine.closing(script, outcome) if outcome is engine.Outcome.PARTIAL else None
        said: list[ChatLine] = []

        async def link(session: AsyncSession, lead_id: int) -> None:
            if not await chat_store.link_lead(session, row.id, lead_id):
                raise _AlreadyLinked
            await session.execute(
                update(ChatMessage)
                .where(ChatMessage.session_id == row.id)
                .values(lead_id=lead_id)
                .execution_options(synchronize_session=False)
            )
            values: dict[str, Any] = {}
            if outcome is engine.Outcome.HUMAN:
                values["asked_for_human"] = True
            if row.last_touch and row.last_touch != row.first_touch:
                values["last_touch"] = {**row.last_touch, "source": source_of(row.last_touch)}
            if values:
                await session.execute(
                    update(Lead)
                    .where(Lead.id == lead_id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            if closing is not None:
                said.extend(await self._bot_lines(session, row.id, (closing,)))

        try:
            lead_id = await self._leads.capture(
                intake, self._setup.queue, actor=f"widget:{row.id}", then=link
            )
        except _AlreadyLinked:
            return False
        row.lead_id = lead_id
        if said:
            await self._publish(row.id, said)
        return True

    # ------------------------------------------------------------------ helpers

    async def _bot_lines(
        self, session: AsyncSession, chat_id: str, lines: Sequence[engine.BotLine]
    ) -> list[ChatLine]:
        drafts = [_bot_draft(line) for line in lines]
        stored = await chat_store.add_messages(session, chat_id, drafts, now=self._clock.now())
        return [line_of(m) for m in stored]

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

    def _state(self, row: ChatSession) -> ChatState:
        if row.closed_at is not None:
            return ChatState(CLOSED, None)
        if row.lead_id is not None:
            return ChatState(LIVE, LIVE_INPUT)
        return ChatState(QUALIFYING, (row.script_state or {}).get("input"))


def _bot_draft(line: engine.BotLine) -> chat_store.Draft:
    return chat_store.Draft("bot", line.text, choices=list(line.choices))


def _stored(state: engine.ScriptState, hint: engine.InputHint | None) -> dict[str, Any]:
    """What a conversation keeps of its script: the engine's state and the input it offers."""
    return {"engine": state.to_json(), "input": hint_json(hint)}


def _engine_state(row: ChatSession) -> engine.ScriptState:
    return engine.ScriptState.from_json((row.script_state or {}).get("engine") or {})


def _or_none(parse: Callable[[], _T]) -> _T | None:
    try:
        return parse()
    except ContactError:
        return None
