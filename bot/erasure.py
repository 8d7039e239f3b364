"""Erasing a person (`/leads forget EMAIL|PHONE`, managers only; issue 7).

One transaction finds every lead of the person — the same normalized email or
E.164 phone is the same person (`bot.domain.contact`), followed through the
other contact values those leads hold, so a lead a capture merged into by the
phone alone is found from the email — and their widget conversations, then:

- the leads lose their contact fields, answers, page URLs and referrers and any
  free text; they are marked `erased_at`, so dedup never matches them again. Their
  state, score, source and campaign stay: reports count them;
- the conversations' lines (every author's) read `ERASED`, their page views lose
  URL, referrer and title, the visitor's IP goes and the conversation is closed;
- event rows stay (kind, time, states, actor) with personal reason/data values
  scrubbed, as are the leads' outbox and timer payloads;
- each lead gets an `erased` event (actor: the manager; counts only).

Slack's copies go through the outbox like everything else: each card is
re-rendered from the erased lead (`update_card`) and each visitor line relayed
into a card's thread is overwritten (`erase_relayed_line`, delivered by
`ErasureDelivery`), ordered behind the channel's other rows so a relay in flight
is overwritten after it lands. So is every other message the outbox posted about
the leads and recorded where (`erase_posted_copy`): the "came back" thread notes,
the offer DMs and the SLA nags and escalations, which carry the card.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat_turns import RELAY_VISITOR_MESSAGE
from bot.clock import Clock
from bot.domain.contact import Email, Phone
from bot.domain.erasure import (
    ERASED,
    Needles,
    erased_free_text,
    erased_script_state,
    erased_touch,
    erased_utm,
    person_key,
    scrub,
    scrub_event,
    scrub_payload,
    scrub_text,
)
from bot.leads import POST_CARD, POST_THREAD_NOTE, UPDATE_CARD, channel_key
from bot.offers import DM_OFFER
from bot.outbox import PermanentSlackError, RenderedMessage
from bot.sla import SLA_NOTICE
from store import erasure as erasure_store
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database
from store.models import ChatSession, Lead, OutboxMessage

log = logging.getLogger(__name__)

#: Outbox kind: overwrite a visitor line's copy in a card thread (payload: message_id).
ERASE_RELAYED_LINE = "erase_relayed_line"
#: Outbox kind: overwrite another message posted about the lead (payload: channel, ts).
ERASE_POSTED_COPY = "erase_posted_copy"
#: The outbox kinds whose deliveries post a copy of the person's details, and record where.
COPYING_KINDS = (POST_THREAD_NOTE, DM_OFFER, SLA_NOTICE)
#: Rounds of following a person's other contact values to more leads (a safety bound).
MAX_ROUNDS = 5


@dataclass(frozen=True)
class ErasureReport:
    """What `forget` erased; all zeros (and no leads) when nothing matched."""

    kind: str  # "email" | "phone": what the manager gave
    lead_ids: tuple[int, ...] = ()
    conversations: int = 0
    messages: int = 0
    page_views: int = 0
    events: int = 0  # event rows whose reason or data was scrubbed (the rows stay)
    cards: int = 0  # Slack cards being re-rendered
    slack_lines: int = 0  # relayed visitor lines being overwritten in Slack
    slack_copies: int = 0  # thread notes, DMs and notices being overwritten in Slack

    @property
    def matched(self) -> bool:
        return bool(self.lead_ids or self.conversations)


@dataclass
class _Counts:
    conversations: int = 0
    messages: int = 0
    page_views: int = 0
    events: int = 0


class Erasure:
    def __init__(
        self, db: Database, clock: Clock, wake_outbox: Callable[[], None], phone_region: str
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._phone_region = phone_region

    async def forget(self, actor: str, text: str) -> ErasureReport:
        """Erase the person `text` names (an email, or a phone read in the workspace's
        region); `ContactError` when it is neither. Erasing again finds nothing."""
        key = person_key(text, self._phone_region)
        emails = {key.normalized} if isinstance(key, Email) else set()
        phones = {key.e164} if isinstance(key, Phone) else set()
        kind = "email" if isinstance(key, Email) else "phone"
        now = self._clock.now()
        async with self._db.transaction() as session:
            leads = await self._person_leads(session, emails, phones)
            emails.update(lead.email_normalized for lead in leads if lead.email_normalized)
            phones.update(lead.phone_e164 for lead in leads if lead.phone_e164)
            lead_ids = [lead.id for lead in leads]
            needles = Needles.of(
                emails=[*emails, *(lead.email for lead in leads)],
                phones=[*phones, *(lead.phone for lead in leads)],
                texts=[v for lead in leads for v in (lead.name, lead.company)],
            )
            chats = await erasure_store.person_sessions(
                session, lead_ids=lead_ids, needles=sorted(emails | phones)
            )
            if not leads and not chats:
                return ErasureReport(kind)
            # Which visitor lines Slack holds copies of (or is about to): overwritten below.
            lines = await erasure_store.visitor_lines_in_slack(
                session,
                session_ids=[c.id for c in chats],
                lead_ids=lead_ids,
                relay_kind=RELAY_VISITOR_MESSAGE,
            )
            counts = await self._erase_conversations(session, chats, lead_ids, needles, now)
            counts.events = await self._scrub_rows(session, lead_ids, needles)
            for lead in leads:
                await self._erase_lead(session, lead, needles, now)
            cards = await self._rerender_cards(session, lead_ids, now)
            await self._overwrite_lines(session, lines, now)
            copies = await outbox_store.posted_copies(session, lead_ids, list(COPYING_KINDS))
            for lead_id, channel, ts in copies:
                await outbox_store.enqueue(
                    session,
                    kind=ERASE_POSTED_COPY,
                    ordering_key=channel_key(channel),
                    lead_id=lead_id,
                    payload={"channel": channel, "ts": ts},
                    now=now,
                )
            await self._audit(session, lead_ids, counts, actor, now)
        self._wake_outbox()
        log.info(
            "erased a person: leads %s, %d conversations, %d messages",
            lead_ids,
            counts.conversations,
            counts.messages,
        )
        return ErasureReport(
            kind,
            tuple(lead_ids),
            counts.conversations,
            counts.messages,
            counts.page_views,
            counts.events,
            cards,
            len(lines),
            len(copies),
        )

    async def _person_leads(
        self, session: AsyncSession, emails: set[str], phones: set[str]
    ) -> list[Lead]:
        """The person's leads, following the other contact values they hold. Each value is
        locked as capture locks it, so a capture of this person waits for the erasure and
        then finds no lead to merge into."""
        emails, phones = set(emails), set(phones)
        locked: set[str] = set()
        leads: list[Lead] = []
        for _ in range(MAX_ROUNDS):
            keys = {f"email:{e}" for e in emails} | {f"phone:{p}" for p in phones}
            await lead_store.lock_contacts(session, sorted(keys - locked))
            locked |= keys
            leads = await erasure_store.person_leads(session, emails=emails, phones=phones)
            more_emails = {lead.email_normalized for lead in leads if lead.email_normalized}
            more_phones = {lead.phone_e164 for lead in leads if lead.phone_e164}
            if more_emails <= emails and more_phones <= phones:
                break
            emails |= more_emails
            phones |= more_phones
        return leads

    async def _erase_conversations(
        self,
        session: AsyncSession,
        chats: list[ChatSession],
        lead_ids: list[int],
        needles: Needles,
        now: datetime,
    ) -> _Counts:
        session_ids = [c.id for c in chats]
        for chat in chats:
            await erasure_store.set_chat_session(
                session,
                chat.id,
                ip=None,
                script_state=erased_script_state(chat.script_state, needles),
                first_touch=erased_touch(chat.first_touch, needles),
                last_touch=erased_touch(chat.last_touch, needles),
                # Over: a visitor coming back to the page starts a new conversation.
                closed_at=chat.closed_at or now,
            )
        messages = await erasure_store.erase_messages(
            session, session_ids=session_ids, lead_ids=lead_ids, text=ERASED
        )
        views = await erasure_store.erase_page_views(session, session_ids=session_ids, url=ERASED)
        return _Counts(len(chats), messages, views)

    async def _scrub_rows(
        self, session: AsyncSession, lead_ids: list[int], needles: Needles
    ) -> int:
        """Events, outbox rows and timers of the leads: scrubbed in place; events changed."""
        changed = 0
        for event in await erasure_store.events_of(session, lead_ids):
            reason, data = scrub_event(event.kind, event.reason, event.data, needles)
            if (reason, data) != (event.reason, event.data or {}):
                await erasure_store.set_event(session, event.id, reason=reason, data=data)
                changed += 1
        for row in await erasure_store.outbox_rows_of(session, lead_ids):
            payload = scrub_payload(row.payload, needles)
            error = scrub_text(row.last_error, needles)
            if (payload, error) != (row.payload or {}, row.last_error):
                await erasure_store.set_outbox_row(
                    session, row.id, payload=payload, last_error=error
                )
        for timer in await erasure_store.timers_of(session, lead_ids):
            payload = scrub_payload(timer.payload, needles)
            if payload != (timer.payload or {}):
                await erasure_store.set_timer_payload(session, timer.id, payload)
        return changed

    async def _erase_lead(
        self, session: AsyncSession, lead: Lead, needles: Needles, now: datetime
    ) -> None:
        await erasure_store.set_erased_lead(
            session,
            lead.id,
            now=now,
            name=None,
            email=None,
            email_normalized=None,
            phone=None,
            phone_e164=None,
            company=None,
            answers={},
            source=scrub_text(lead.source, needles),
            utm=erased_utm(lead.utm, needles),
            first_touch=erased_touch(lead.first_touch, needles),
            last_touch=erased_touch(lead.last_touch, needles),
            lost_reason=erased_free_text(lead.lost_reason),
            routing=scrub(lead.routing, needles) if lead.routing is not None else None,
            score_reasons=scrub(list(lead.score_reasons or []), needles),
        )

    async def _rerender_cards(
        self, session: AsyncSession, lead_ids: list[int], now: datetime
    ) -> int:
        """Queue a re-render of each card in Slack (or about to be): the erased lead's."""
        cards = 0
        for lead_id in lead_ids:
            lead = await lead_store.fresh_lead(session, lead_id)
            if lead is None:
                continue
            if lead.slack_ts is None and not await erasure_store.has_pending_card_post(
                session, lead_id, POST_CARD
            ):
                continue  # never posted (e.g. nurtured at capture): nothing in Slack
            await outbox_store.enqueue(
                session,
                kind=UPDATE_CARD,
                ordering_key=channel_key(await lead_store.card_channel(session, lead_id) or "none"),
                lead_id=lead_id,
                now=now,
            )
            cards += 1
        return cards

    async def _overwrite_lines(
        self, session: AsyncSession, lines: list[erasure_store.RelayedLine], now: datetime
    ) -> None:
        channels = await lead_store.card_channels(session, {line.lead_id for line in lines})
        for line in lines:
            await outbox_store.enqueue(
                session,
                kind=ERASE_RELAYED_LINE,
                # Behind the relays of the channel: one in flight lands, then is overwritten.
                ordering_key=channel_key(channels.get(line.lead_id) or "none"),
                lead_id=line.lead_id,
                payload={"message_id": line.message_id},
                now=now,
            )

    async def _audit(
        self, session: AsyncSession, lead_ids: list[int], counts: _Counts, actor: str, now: datetime
    ) -> None:
        """One `erased` event per lead: who erased it and the erasure's counts, nothing else."""
        data: dict[str, Any] = {
            "leads": len(lead_ids),
            "conversations": counts.conversations,
            "messages": counts.messages,
            "page_views": counts.page_views,
            "events": counts.events,
        }
        for lead_id in lead_ids:
            await lead_store.add_event(
                session, lead_id=lead_id, kind="erased", actor=actor, at=now, data=dict(data)
            )


class LineUpdater(Protocol):
    async def update_message(
        self, channel: str, ts: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> None: ...


#: The DM channel id (D…) of the bot's conversation with a user id.
OpenDM = Callable[[str], Awaitable[str]]


class ErasureDelivery:
    """The outbox's handlers for `erase_relayed_line` and `erase_posted_copy` rows."""

    def __init__(
        self,
        db: Database,
        sender: LineUpdater,
        render: Callable[[], RenderedMessage],
        open_dm: OpenDM | None = None,
    ) -> None:
        self._db = db
        self._sender = sender
        self._render = render
        self._open_dm = open_dm

    async def erase_line(self, row: OutboxMessage) -> None:
        """Overwrite the line's copy in its card thread; nothing to do if it has none (its
        relay never posted: a relay still to come posts the erased text itself)."""
        message_id = int((row.payload or {}).get("message_id") or 0)
        async with self._db.reading() as session:
            where = await erasure_store.relayed_line(session, message_id)
        if where is None:
            return
        channel, ts = where
        await self._sender.update_message(channel, ts, self._render(), None)

    async def erase_copy(self, row: OutboxMessage) -> None:
        """Overwrite a posted copy; a DM was posted to a user id, which chat.update does
        not take, so its D… channel is looked up first."""
        payload = row.payload or {}
        channel, ts = str(payload.get("channel") or ""), str(payload.get("ts") or "")
        if not channel or not ts:
            raise PermanentSlackError(f"erase row {row.id} without channel and ts")
        if channel.startswith(("U", "W")):
            if self._open_dm is None:
                raise PermanentSlackError("cannot find a DM channel to erase a copy in")
            channel = await self._open_dm(channel)
        await self._sender.update_message(channel, ts, self._render(), None)
