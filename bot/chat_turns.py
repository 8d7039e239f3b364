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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert

from bot.chat_values import (
    CLOSED,
    LIVE,
    LIVE_INPUT,
    QUALIFYING,
    ChatLine,
    ChatState,
    draft_line,
    hint_json,
)
from bot.domain import script as engine
from bot.leads import channel_key
from store import chat as chat_store
from store import outbox as outbox_store
from store.chat import Conversation
from store.db import Database
from store.models import OutboxMessage

_outbox = cast(Table, OutboxMessage.__table__)

#: Outbox kind: a visitor's live message, posted in the lead's card thread.
RELAY_VISITOR_MESSAGE = "relay_visitor_message"
CAPTURING = (engine.Outcome.COMPLETED, engine.Outcome.HUMAN)


class UnknownSession(LookupError):
    """The conversation id is not (or no longer) stored."""


class ConversationClosed(Exception):
    """The conversation has ended (its person's data was erased): it takes no more lines,
    which would otherwise be stored again and relayed to the erased lead's thread."""


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
    #: The conversation after the turn (plain values), for the capture.
    row: Conversation
    #: The script has finished (completed / human) and no lead is linked yet: capture it.
    capture: engine.Outcome | None
    #: A live message was queued for the lead's thread: wake the outbox.
    relayed: bool


@dataclass
class _Open:
    """A locked conversation during a batch: its row and its script state, parsed once."""

    row: Conversation
    state: engine.ScriptState | None  # None once live
    #: When the visitor last spoke in this batch (None: nothing to write back).
    at: datetime | None = None
    stored_state: bool = False


class Turns:
    """The turn logic over the database; the script and phone region come from the config."""

    def __init__(self, db: Database, script: engine.Script, phone_region: str) -> None:
        self._db = db
        self._script = script
        self._phone_region = phone_region

    async def one(self, turn: Turn) -> TurnResult:
        """One turn in its own transaction: a batch of one, its error raised here."""
        [result] = await self.batch([turn])
        if isinstance(result, Exception):
            raise result
        assert result is not None  # a lone turn is never held behind a capture
        return result

    async def batch(self, turns: Sequence[Turn]) -> list[TurnResult | Exception | None]:
        """All `turns` in ONE transaction, in arrival order; raises if the transaction fails.

        Per turn: a result, or the exception meant for its caller only (an unknown
        conversation, an engine error). None: not run, because an earlier turn of
        the same conversation left it to be captured — it runs after the capture,
        as it would have one turn at a time.

        Synchronous Core statements (`Database.write_core`), a fixed number per
        batch: the conversations locked in one select, resends found in one, every
        new line inserted in one, the conversations written back in one executemany.
        """
        return await self._db.write_core(lambda conn: self._batch(conn, turns))

    def _batch(
        self, conn: Connection, turns: Sequence[Turn]
    ) -> list[TurnResult | Exception | None]:
        results: list[TurnResult | Exception | None] = [None] * len(turns)
        rows = chat_store.lock_sessions(conn, [t.chat_id for t in turns])
        stored = chat_store.stored_client_ids(conn, list(rows), [t.client_id for t in turns])
        open_ = {chat_id: _Open(row, _parsed(row)) for chat_id, row in rows.items()}
        capturing: set[str] = set()
        messages: list[dict[str, Any]] = []
        relays: list[int] = []  # indexes into `messages` of live visitor lines
        for i, turn in enumerate(turns):
            conv = open_.get(turn.chat_id)
            if conv is None:
                results[i] = UnknownSession(turn.chat_id)
                continue
            if turn.chat_id in capturing:
                continue
            if conv.row.closed_at is not None:
                results[i] = ConversationClosed(turn.chat_id)
                continue
            seen = stored.get((turn.chat_id, turn.client_id))
            if seen is not None:
                result = _result(conv, seen, duplicate=True)
            else:
                try:
                    drafts, answered = self._drafts(conv, turn)
                except Exception as exc:  # this turn's bug stays this turn's
                    results[i] = exc
                    continue
                row = conv.row
                first = row.last_seq + 1
                row.last_seq += len(drafts)
                if answered is None and row.lead_id is not None:
                    relays.append(len(messages))
                messages += [
                    chat_store.message_values(row.id, first + n, d, turn.now, row.lead_id)
                    for n, d in enumerate(drafts)
                ]
                stored[(turn.chat_id, turn.client_id)] = first
                _apply(conv, answered, turn.now)
                replies = [draft_line(first + n, d, turn.now) for n, d in enumerate(drafts)]
                result = _result(conv, first, replies=replies[1:])
            if result.capture is not None:
                capturing.add(turn.chat_id)
            results[i] = result
        relayed = set(relays)
        chat_store.insert_messages(conn, [m for n, m in enumerate(messages) if n not in relayed])
        if relays:  # live lines: their ids go in the outbox rows that relay them
            live = [messages[n] for n in relays]
            ids = chat_store.insert_messages_returning_ids(conn, live)
            channels = chat_store.card_channels(conn, {m["lead_id"] for m in live})
            conn.execute(
                insert(_outbox),
                [
                    _relay_row(
                        m["lead_id"], channels.get(m["lead_id"]), message_id, m["created_at"]
                    )
                    for m, message_id in zip(live, ids, strict=True)
                ],
            )
        chat_store.save_turns(conn, [_update(c) for c in open_.values() if c.at is not None])
        return results

    def _drafts(self, conv: _Open, turn: Turn) -> tuple[list[chat_store.Draft], engine.Turn | None]:
        """The turn's lines (visitor first) and the engine's turn (None once live)."""
        answered = None
        if conv.state is not None:
            answered = engine.answer(
                self._script, conv.state, turn.text, phone_region=self._phone_region
            )
        drafts = [chat_store.Draft("visitor", turn.text, client_id=turn.client_id)]
        drafts += [bot_draft(line) for line in (answered.say if answered else ())]
        return drafts, answered


def state_of(row: Conversation) -> ChatState:
    """What the widget is told to expect. A finished script is live at once: whatever the
    visitor says next goes to the lead's thread, once the capture has linked the lead."""
    if row.closed_at is not None:
        return ChatState(CLOSED, None)
    if row.lead_id is not None or _finished(row) in CAPTURING:
        return ChatState(LIVE, LIVE_INPUT)
    return ChatState(QUALIFYING, row.script_state.get("input"))


def bot_draft(line: engine.BotLine) -> chat_store.Draft:
    return chat_store.Draft("bot", line.text, choices=list(line.choices))


def stored_state(state: engine.ScriptState, hint: engine.InputHint | None) -> dict[str, Any]:
    """What a conversation keeps of its script: the engine's state and the input it offers."""
    return {"engine": state.to_json(), "input": hint_json(hint)}


def engine_state(row: Conversation) -> engine.ScriptState:
    return engine.ScriptState.from_json(row.script_state.get("engine") or {})


def _finished(row: Conversation) -> engine.Outcome | None:
    """The script's outcome, read without parsing the whole state."""
    finished = (row.script_state.get("engine") or {}).get("finished")
    return None if finished is None else engine.Outcome(finished)


def _parsed(row: Conversation) -> engine.ScriptState | None:
    return engine_state(row) if row.lead_id is None else None


def _apply(conv: _Open, answered: engine.Turn | None, now: datetime) -> None:
    conv.at = now
    if answered is not None:
        conv.state = answered.state
        conv.row.script_state = stored_state(answered.state, answered.input)
        conv.stored_state = True


def _update(conv: _Open) -> dict[str, Any]:
    values: dict[str, Any] = {"id": conv.row.id, "last_seq": conv.row.last_seq, "at": conv.at}
    if conv.stored_state:
        values["script_state"] = conv.row.script_state
    return values


def _result(
    conv: _Open, seq: int, *, duplicate: bool = False, replies: list[ChatLine] | None = None
) -> TurnResult:
    row = conv.row
    finished = conv.state.finished if conv.state is not None else None
    return TurnResult(
        seq=seq,
        duplicate=duplicate,
        replies=replies or [],
        state=state_of(row),
        row=replace(row),  # a snapshot: later turns of the batch move `row` on
        capture=finished if finished in CAPTURING else None,
        relayed=row.lead_id is not None and not duplicate,
    )


def _relay_row(
    lead_id: int, channel: str | None, message_id: int, turn_at: datetime
) -> dict[str, Any]:
    """The outbox row relaying a live line, as insert values (`outbox_store.new_row`'s)."""
    row = outbox_store.new_row(
        kind=RELAY_VISITOR_MESSAGE,
        ordering_key=channel_key(channel or "none"),
        lead_id=lead_id,
        payload={"message_id": message_id},
        now=turn_at,
    )
    return {c.key: getattr(row, c.key) for c in _outbox.columns if c.key != "id"}
