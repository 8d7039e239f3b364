"""A visitor's message in a conversation: stored alone, or with others in one transaction.

`Chat.say` hands each message to `TurnBatcher` (bot/chat_batch.py), which runs
everything queued at that moment through `Turns.batch`. A turn's transaction
costs mostly fixed latency — SQLite's single writer, BEGIN, a handful of
statements awaited through the driver, COMMIT — so a batch of N turns costs
little more than one, and turns stop queueing behind each other's locks.
`Turns.one` is the per-turn transaction, used when a batch fails so that one
bad turn never fails the others.

Both decide the same way: the visitor line is stored once per `client_id`;
while qualifying, the script engine (`bot/domain/script.py`) answers; once
live (a lead is linked), the line is queued for the lead's Slack thread.
Capturing a finished script is left to the caller (`TurnResult.capture`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.chat_values import (
    CLOSED,
    LIVE,
    LIVE_INPUT,
    QUALIFYING,
    ChatLine,
    ChatState,
    hint_json,
    line_of,
)
from bot.domain import script as engine
from bot.leads import channel_key
from store import chat as chat_store
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database
from store.models import ChatMessage, ChatSession, OutboxMessage

#: Outbox kind: a visitor's live message, posted in the lead's card thread.
RELAY_VISITOR_MESSAGE = "relay_visitor_message"
CAPTURING = (engine.Outcome.COMPLETED, engine.Outcome.HUMAN)


class UnknownSession(LookupError):
    """The conversation id is not (or no longer) stored."""


@dataclass(frozen=True)
class Turn:
    """A visitor message waiting to be stored; `now` is when it arrived."""

    chat_id: str
    text: str
    client_id: str
    now: datetime


@dataclass(frozen=True)
class TurnResult:
    seq: int
    duplicate: bool
    replies: list[ChatLine]
    #: The conversation's state right after this turn.
    state: ChatState
    #: The conversation row after the turn (detached), for the capture.
    row: ChatSession
    #: The script has finished (completed / human) and no lead is linked yet: capture it.
    capture: engine.Outcome | None
    #: A live message was queued for the lead's thread: wake the outbox.
    relayed: bool


class Turns:
    """The turn logic over the database; the script and phone region come from the config."""

    def __init__(self, db: Database, script: engine.Script, phone_region: str) -> None:
        self._db = db
        self._script = script
        self._phone_region = phone_region

    async def one(self, turn: Turn) -> TurnResult:
        """One turn in its own transaction (the conversation row locked on PostgreSQL)."""
        async with self._db.transaction() as session:
            row = await chat_store.lock_session(session, turn.chat_id)
            if row is None:
                raise UnknownSession(turn.chat_id)
            existing = await chat_store.by_client_id(session, turn.chat_id, turn.client_id)
            if existing is not None:
                return _result(row, existing.seq, duplicate=True)
            drafts, answered = self._drafts(row, turn)
            message, *bot_lines = await chat_store.add_messages(
                session, turn.chat_id, drafts, now=turn.now, lead_id=row.lead_id
            )
            _apply(row, answered, turn.now)
            if answered is None and row.lead_id is not None:
                channel = await lead_store.card_channel(session, row.lead_id)
                session.add(_relay_row(row.lead_id, channel, message))
            return _result(row, message.seq, replies=[line_of(m) for m in bot_lines])

    async def batch(self, turns: Sequence[Turn]) -> list[TurnResult | Exception | None]:
        """All `turns` in ONE transaction, in arrival order; raises if the transaction fails.

        Per turn: a result, or the exception meant for its caller only (an unknown
        conversation, an engine error). None: not run, because an earlier turn of
        the same conversation left it to be captured — it runs after the capture,
        as it would have one turn at a time.
        """
        results: list[TurnResult | Exception | None] = [None] * len(turns)
        async with self._db.transaction() as session:
            rows = await chat_store.lock_sessions(session, [t.chat_id for t in turns])
            stored = await chat_store.stored_client_ids(
                session, list(rows), [t.client_id for t in turns]
            )
            capturing: set[str] = set()
            relays: list[ChatMessage] = []
            for i, turn in enumerate(turns):
                row = rows.get(turn.chat_id)
                if row is None:
                    results[i] = UnknownSession(turn.chat_id)
                    continue
                if turn.chat_id in capturing:
                    continue
                seen = stored.get((turn.chat_id, turn.client_id))
                if seen is not None:
                    result = _result(row, seen, duplicate=True)
                else:
                    try:
                        drafts, answered = self._drafts(row, turn)
                    except Exception as exc:  # this turn's bug stays this turn's
                        results[i] = exc
                        continue
                    messages = _messages(row, drafts, turn.now)
                    session.add_all(messages)
                    stored[(turn.chat_id, turn.client_id)] = messages[0].seq
                    _apply(row, answered, turn.now)
                    if answered is None and row.lead_id is not None:
                        relays.append(messages[0])
                    result = _result(row, messages[0].seq, replies=_lines(messages[1:]))
                if result.capture is not None:
                    capturing.add(turn.chat_id)
                results[i] = result
            await session.flush()  # messages inserted in one batch; their ids for the relays
            if relays:
                leads = {m.lead_id for m in relays if m.lead_id is not None}
                channels = await lead_store.card_channels(session, leads)
                session.add_all(
                    _relay_row(m.lead_id, channels.get(m.lead_id), m)
                    for m in relays
                    if m.lead_id is not None
                )
        return results

    def _drafts(
        self, row: ChatSession, turn: Turn
    ) -> tuple[list[chat_store.Draft], engine.Turn | None]:
        """The turn's lines (visitor first) and the engine's turn (None once live)."""
        answered = None
        if row.lead_id is None:
            answered = engine.answer(
                self._script, engine_state(row), turn.text, phone_region=self._phone_region
            )
        drafts = [chat_store.Draft("visitor", turn.text, client_id=turn.client_id)]
        drafts += [bot_draft(line) for line in (answered.say if answered else ())]
        return drafts, answered


def state_of(row: ChatSession) -> ChatState:
    if row.closed_at is not None:
        return ChatState(CLOSED, None)
    if row.lead_id is not None:
        return ChatState(LIVE, LIVE_INPUT)
    return ChatState(QUALIFYING, (row.script_state or {}).get("input"))


def bot_draft(line: engine.BotLine) -> chat_store.Draft:
    return chat_store.Draft("bot", line.text, choices=list(line.choices))


def stored_state(state: engine.ScriptState, hint: engine.InputHint | None) -> dict[str, Any]:
    """What a conversation keeps of its script: the engine's state and the input it offers."""
    return {"engine": state.to_json(), "input": hint_json(hint)}


def engine_state(row: ChatSession) -> engine.ScriptState:
    return engine.ScriptState.from_json((row.script_state or {}).get("engine") or {})


def _apply(row: ChatSession, answered: engine.Turn | None, now: datetime) -> None:
    row.last_visitor_at = row.last_seen_at = now
    if answered is not None:
        row.script_state = stored_state(answered.state, answered.input)


def _result(
    row: ChatSession, seq: int, *, duplicate: bool = False, replies: list[ChatLine] | None = None
) -> TurnResult:
    finished = engine_state(row).finished if row.lead_id is None else None
    return TurnResult(
        seq=seq,
        duplicate=duplicate,
        replies=replies or [],
        state=state_of(row),
        row=row,
        capture=finished if finished in CAPTURING else None,
        relayed=row.lead_id is not None and not duplicate,
    )


def _messages(
    row: ChatSession, drafts: Sequence[chat_store.Draft], now: datetime
) -> list[ChatMessage]:
    """The turn's rows, seqs taken from the locked row's counter in memory."""
    first = row.last_seq + 1
    row.last_seq += len(drafts)
    return [
        ChatMessage(
            session_id=row.id,
            seq=first + n,
            client_id=d.client_id,
            lead_id=row.lead_id,
            author=d.author,
            text=d.text,
            choices=d.choices or None,
            created_at=now,
        )
        for n, d in enumerate(drafts)
    ]


def _lines(messages: Sequence[ChatMessage]) -> list[ChatLine]:
    return [line_of(m) for m in messages]


def _relay_row(lead_id: int, channel: str | None, message: ChatMessage) -> OutboxMessage:
    return outbox_store.new_row(
        kind=RELAY_VISITOR_MESSAGE,
        ordering_key=channel_key(channel or "none"),
        lead_id=lead_id,
        payload={"message_id": message.id},
        now=message.created_at,
    )
