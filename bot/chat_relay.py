"""The live relay between a lead's Slack thread and the visitor's chat (SPEC §5).

Rep → visitor: `relay_rep_reply` stores the owner's thread reply as a chat
message, pushes it to the visitor's open sockets, records the first contact,
and queues the "sent" reaction in the outbox (so it is added even if Slack is
briefly down). Replies by anyone else, or starting with `note:`, stay internal.

Visitor → Slack: the outbox rows `Chat.say` writes are delivered here, in the
card's channel order, once the card's `ts` is known.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import RELAY_VISITOR_MESSAGE, Publish
from bot.chat_values import line_of
from bot.clock import Clock
from bot.domain.slack_text import plain_text_from_slack
from bot.outbox import PermanentSlackError, RenderedMessage, RowHandler, TransientSlackError
from store import chat as chat_store
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database
from store.models import OutboxMessage

log = logging.getLogger(__name__)

#: Outbox kind: mark a relayed rep reply in Slack as sent.
ADD_REACTION = "add_reaction"
SENT_REACTION = "white_check_mark"
#: Rep text kept per message; Slack allows more, a chat bubble does not need it.
REP_TEXT_LIMIT = 4000
#: How many times a relay waits for its card to be posted before giving up.
MAX_CARD_WAITS = 30


class ReplyOutcome(StrEnum):
    RELAYED = "relayed"
    DUPLICATE = "duplicate"
    INTERNAL = "internal"  # a note, or not the owner
    NOT_A_LEAD_THREAD = "not_a_lead_thread"
    NO_CONVERSATION = "no_conversation"  # the lead did not come from the widget


class ThreadSender(Protocol):
    async def post_thread_message(
        self, channel: str, thread_ts: str, message: RenderedMessage
    ) -> str: ...

    async def add_reaction(self, channel: str, ts: str, name: str) -> None: ...


VisitorRenderer = Callable[[str, str | None], RenderedMessage]  # (text, visitor name)


def is_note(text: str) -> bool:
    return text.lstrip().lower().startswith("note:")


#: Runs in the relay's transaction when a reply is the lead's first contact (the SLA stops).
FirstContactHook = Callable[[AsyncSession, int, datetime], Awaitable[None]]


class ChatRelay:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        wake_outbox: Callable[[], None],
        publish: Publish,
        on_first_contact: FirstContactHook | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._publish = publish
        self._on_first_contact = on_first_contact

    async def relay_rep_reply(
        self, *, channel: str, thread_ts: str, ts: str, user: str, text: str
    ) -> ReplyOutcome:
        """A human replied in a thread: relay it to the visitor if it is the owner's, not a note."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            lead = await chat_store.lead_thread(session, channel_id=channel, thread_ts=thread_ts)
            if lead is None:
                return ReplyOutcome.NOT_A_LEAD_THREAD
            if lead.owner_id != user or is_note(text):
                return ReplyOutcome.INTERNAL
            chat = await chat_store.session_of_lead(session, lead.id)
            if chat is None:
                return ReplyOutcome.NO_CONVERSATION
            if await chat_store.rep_message_by_ts(session, chat.id, ts) is not None:
                return ReplyOutcome.DUPLICATE
            names = await chat_store.rep_names(session)
            message = await chat_store.add_message(
                session,
                chat_id=chat.id,
                author="rep",
                text=plain_text_from_slack(text, names)[:REP_TEXT_LIMIT],
                now=now,
                lead_id=lead.id,
                rep_id=user,
                author_name=names.get(user),
                slack_ts=ts,
            )
            if await chat_store.set_first_contact(session, lead.id, now):
                await lead_store.add_event(
                    session,
                    lead_id=lead.id,
                    kind="first_contact",
                    actor=user,
                    at=now,
                    data={"via": "thread_reply"},
                )
                if self._on_first_contact is not None:
                    await self._on_first_contact(session, lead.id, now)
            await outbox_store.enqueue(
                session,
                kind=ADD_REACTION,
                ordering_key=f"reaction:{channel}",
                lead_id=lead.id,
                payload={"channel": channel, "ts": ts, "name": SENT_REACTION},
                now=now,
            )
            line = line_of(message)
        self._wake_outbox()
        await self._publish(chat.id, [line])
        return ReplyOutcome.RELAYED


class RelayDelivery:
    """The outbox's handlers for the relay's rows (see `OutboxDispatcher` `handlers`)."""

    def __init__(
        self, db: Database, clock: Clock, sender: ThreadSender, render: VisitorRenderer
    ) -> None:
        self._db = db
        self._clock = clock
        self._sender = sender
        self._render = render

    def handlers(self) -> dict[str, RowHandler]:
        return {RELAY_VISITOR_MESSAGE: self.post_visitor_message, ADD_REACTION: self.add_reaction}

    async def post_visitor_message(self, row: OutboxMessage) -> None:
        message_id = int(row.payload.get("message_id", 0))
        async with self._db.reading() as session:
            message = await chat_store.get_message(session, message_id)
            lead = await lead_store.get_lead(session, row.lead_id) if row.lead_id else None
        if message is None or lead is None:
            raise PermanentSlackError(f"relay row {row.id}: message or lead is gone")
        if message.relayed_at is not None:
            return  # posted before a crash lost the outbox's "sent"
        if lead.slack_channel_id is None or lead.slack_ts is None:
            if row.attempts >= MAX_CARD_WAITS:
                raise PermanentSlackError(f"lead {lead.id} card was never posted")
            raise TransientSlackError(f"lead {lead.id} card not posted yet", retry_after=1.0)
        ts = await self._sender.post_thread_message(
            lead.slack_channel_id, lead.slack_ts, self._render(message.text, lead.name)
        )
        async with self._db.transaction() as session:
            await chat_store.mark_relayed(session, message.id, now=self._clock.now(), slack_ts=ts)

    async def add_reaction(self, row: OutboxMessage) -> None:
        payload = row.payload
        await self._sender.add_reaction(
            str(payload["channel"]), str(payload["ts"]), str(payload["name"])
        )
