"""Queries on widget conversations. Callers own the session (one unit of work)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ChatMessage, ChatSession, Lead, PageView, Queue, Rep


@dataclass
class Conversation:
    """A conversation's row as plain values: what a turn, a resume and a capture read.

    Read and written with Core statements: a turn must not pay for ORM identity
    maps and change tracking on the hot path. `last_seq` is the message counter,
    advanced in memory while the row is locked and written back with the turn."""

    id: str
    lead_id: int | None
    script_state: dict[str, Any]
    first_touch: dict[str, Any]
    last_touch: dict[str, Any]
    last_seq: int
    closed_at: datetime | None


_sessions = cast(Table, ChatSession.__table__)
_messages = cast(Table, ChatMessage.__table__)
_page_views = cast(Table, PageView.__table__)
_CONVERSATION = (
    _sessions.c.id,
    _sessions.c.lead_id,
    _sessions.c.script_state,
    _sessions.c.first_touch,
    _sessions.c.last_touch,
    _sessions.c.last_seq,
    _sessions.c.closed_at,
)


def _conversation(row: Any) -> Conversation:
    id_, lead_id, script_state, first_touch, last_touch, last_seq, closed_at = row
    return Conversation(
        id_, lead_id, script_state or {}, first_touch or {}, last_touch or {}, last_seq, closed_at
    )


@dataclass(frozen=True)
class NewConversation:
    """A conversation about to be stored with its `opening` lines (seqs 1…n)."""

    id: str
    token_hash: str
    origin: str | None
    ip: str | None
    script_state: dict[str, Any]
    touch: dict[str, Any] | None
    opening: Sequence[Draft]
    page: PageSeen | None
    now: datetime


@dataclass(frozen=True)
class PageSeen:
    url: str
    referrer: str | None
    title: str | None


def create_sessions(conn: Connection, new: Sequence[NewConversation]) -> None:
    """Store several new conversations, their opening lines and first page views:
    one multi-row insert per table, whatever the count (`Database.write_core`)."""
    if not new:
        return
    conn.execute(
        insert(_sessions),
        [
            {
                "id": c.id,
                "token_hash": c.token_hash,
                "origin": c.origin,
                "ip": c.ip,
                "script_state": c.script_state,
                "first_touch": c.touch or {},
                "last_touch": c.touch or {},
                "last_seq": len(c.opening),
                "visitor_read_seq": 0,
                "started_at": c.now,
                "last_seen_at": c.now,
            }
            for c in new
        ],
    )
    insert_messages(
        conn,
        [
            message_values(c.id, seq, d, c.now, None)
            for c in new
            for seq, d in enumerate(c.opening, start=1)
        ],
    )
    views = [
        {
            "session_id": c.id,
            "url": c.page.url,
            "referrer": c.page.referrer,
            "title": c.page.title,
            "at": c.now,
        }
        for c in new
        if c.page is not None
    ]
    if views:
        conn.execute(insert(_page_views), views)


def message_values(
    chat_id: str, seq: int, d: Draft, now: datetime, lead_id: int | None
) -> dict[str, Any]:
    """A `chat_messages` row as insert parameters."""
    return {
        "session_id": chat_id,
        "seq": seq,
        "client_id": d.client_id,
        "lead_id": lead_id,
        "author": d.author,
        "rep_id": d.rep_id,
        "author_name": d.author_name,
        "text": d.text,
        "choices": d.choices or None,
        "slack_ts": d.slack_ts,
        "created_at": now,
    }


def insert_messages(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `message_values` rows with one executemany."""
    if rows:
        conn.execute(_INSERT_MESSAGES, rows)


def insert_messages_returning_ids(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """`insert_messages`, also returning the rows' ids in order (twice the cost: only for
    the lines that need their id, e.g. a live line relayed to Slack)."""
    if not rows:
        return []
    result = conn.execute(
        insert(_messages).returning(_messages.c.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


def _save_turn(with_state: bool) -> Any:
    values: dict[str, Any] = {
        "last_seq": bindparam("b_last_seq"),
        "last_visitor_at": bindparam("b_at"),
        "last_seen_at": bindparam("b_at"),
    }
    if with_state:
        values["script_state"] = bindparam("b_script_state", type_=_sessions.c.script_state.type)
    return update(_sessions).where(_sessions.c.id == bindparam("b_id")).values(values)


# The hot path's statements are built once: building one (and its cache key) costs
# more than running it on SQLite.
_SAVE_TURN = {True: _save_turn(True), False: _save_turn(False)}
_INSERT_MESSAGES = insert(_messages)
_LINK = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("b_chat"), _sessions.c.lead_id.is_(None))
    .values(lead_id=bindparam("b_lead"), last_seq=_sessions.c.last_seq + bindparam("b_count"))
    .returning(_sessions.c.last_seq)
)
_LINK_LINES = (
    update(_messages)
    .where(_messages.c.session_id == bindparam("b_chat"))
    .values(lead_id=bindparam("b_lead"))
)
_LOCK_SESSIONS = (
    select(*_CONVERSATION)
    .where(_sessions.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_sessions.c.id)
    .with_for_update()
)
_STORED_CLIENT_IDS = select(_messages.c.session_id, _messages.c.client_id, _messages.c.seq).where(
    _messages.c.session_id.in_(bindparam("ids", expanding=True)),
    _messages.c.client_id.in_(bindparam("client_ids", expanding=True)),
)


def save_turns(conn: Connection, updates: Sequence[dict[str, Any]]) -> None:
    """Write back conversations after their turns: one executemany per shape of update.

    Each update has `id`, `last_seq`, `at` (the visitor's last message) and, while
    qualifying, `script_state`."""
    shapes: dict[bool, list[dict[str, Any]]] = {}
    for u in updates:
        shapes.setdefault("script_state" in u, []).append({f"b_{k}": v for k, v in u.items()})
    for with_state, rows in shapes.items():
        conn.execute(_SAVE_TURN[with_state], rows)


async def by_token_hash(session: AsyncSession, token_hash: str) -> Conversation | None:
    conn = await session.connection()
    row = (
        await conn.execute(select(*_CONVERSATION).where(_sessions.c.token_hash == token_hash))
    ).first()
    return None if row is None else _conversation(row)


def lock_sessions(conn: Connection, chat_ids: Sequence[str]) -> dict[str, Conversation]:
    """Several conversations' rows in one query, locked in id order (no deadlock between
    replicas locking overlapping sets) on PostgreSQL; a batch of turns runs under them."""
    rows = conn.execute(_LOCK_SESSIONS, {"ids": sorted(set(chat_ids))})
    return {row[0]: _conversation(row) for row in rows}


def stored_client_ids(
    conn: Connection, chat_ids: Sequence[str], client_ids: Sequence[str]
) -> dict[tuple[str, str], int]:
    """(conversation, client_id) → seq of the visitor messages already stored, in one query.

    Filters on both columns separately (portable); the caller looks up exact pairs."""
    rows = conn.execute(
        _STORED_CLIENT_IDS, {"ids": list(set(chat_ids)), "client_ids": list(set(client_ids))}
    )
    return {(str(chat_id), str(client_id)): seq for chat_id, client_id, seq in rows.all()}


def card_channels(conn: Connection, lead_ids: Collection[int]) -> dict[int, str | None]:
    """Where each lead's card is (or will be): its posted channel, else its queue's. For
    the outbox rows that relay live lines to the card's thread, ordered by channel."""
    leads, queues = cast(Table, Lead.__table__), cast(Table, Queue.__table__)
    channel = func.coalesce(leads.c.slack_channel_id, queues.c.channel_id)
    rows = conn.execute(
        select(leads.c.id, channel)
        .select_from(leads.outerjoin(queues, queues.c.id == leads.c.queue_id))
        .where(leads.c.id.in_(set(lead_ids)))
    )
    return {lead_id: where for lead_id, where in rows.all()}


async def reserve_seqs(session: AsyncSession, chat_id: str, count: int) -> list[int]:
    """Hand out the conversation's next `count` seqs with one atomic increment."""
    last = await session.scalar(
        update(ChatSession)
        .where(ChatSession.id == chat_id)
        .values(last_seq=ChatSession.last_seq + count)
        .returning(ChatSession.last_seq)
        .execution_options(synchronize_session=False)
    )
    assert last is not None, f"no conversation {chat_id}"
    return list(range(last - count + 1, last + 1))


@dataclass(frozen=True)
class Draft:
    """A message about to be stored; `add_messages` gives it its seq."""

    author: str
    text: str
    client_id: str | None = None
    choices: list[str] | None = None
    rep_id: str | None = None
    author_name: str | None = None
    slack_ts: str | None = None


async def add_messages(
    session: AsyncSession,
    chat_id: str,
    drafts: Sequence[Draft],
    *,
    now: datetime,
    lead_id: int | None = None,
) -> list[ChatMessage]:
    """Store a turn's messages in order: one seq reservation, one batched insert."""
    if not drafts:
        return []
    seqs = await reserve_seqs(session, chat_id, len(drafts))
    rows = [_message(chat_id, seq, d, now, lead_id) for seq, d in zip(seqs, drafts, strict=True)]
    session.add_all(rows)
    await session.flush()
    return rows


def _message(chat_id: str, seq: int, d: Draft, now: datetime, lead_id: int | None) -> ChatMessage:
    return ChatMessage(**message_values(chat_id, seq, d, now, lead_id))


async def add_message(
    session: AsyncSession,
    *,
    chat_id: str,
    author: str,
    text: str,
    now: datetime,
    lead_id: int | None = None,
    client_id: str | None = None,
    choices: list[str] | None = None,
    rep_id: str | None = None,
    author_name: str | None = None,
    slack_ts: str | None = None,
) -> ChatMessage:
    draft = Draft(author, text, client_id, choices, rep_id, author_name, slack_ts)
    [row] = await add_messages(session, chat_id, [draft], now=now, lead_id=lead_id)
    return row


async def history(session: AsyncSession, chat_id: str) -> list[ChatMessage]:
    rows = await session.scalars(
        select(ChatMessage).where(ChatMessage.session_id == chat_id).order_by(ChatMessage.seq)
    )
    return list(rows)


async def update_session(session: AsyncSession, chat_id: str, **values: Any) -> None:
    await session.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def update_open_session(session: AsyncSession, chat_id: str, **values: Any) -> bool:
    """Like `update_session`, but only while the conversation has not ended (an erasure
    closes it): False, and nothing written, once it has."""
    result = await session.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.closed_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def link_lead(
    session: AsyncSession,
    chat_id: str,
    lead_id: int,
    closing: Sequence[Draft] = (),
    *,
    now: datetime,
) -> list[int] | None:
    """Link the conversation and its lines to its lead, once, and add the `closing` lines
    after them: their seqs, or None if another capture got there first (then nothing is
    changed). Three prebuilt statements: the link also reserves the closing lines' seqs."""
    conn = await session.connection()
    last = (
        await conn.execute(_LINK, {"b_chat": chat_id, "b_lead": lead_id, "b_count": len(closing)})
    ).scalar()
    if last is None:
        return None
    await conn.execute(_LINK_LINES, {"b_chat": chat_id, "b_lead": lead_id})
    seqs = list(range(last - len(closing) + 1, last + 1))
    if closing:
        await conn.execute(
            _INSERT_MESSAGES,
            [
                message_values(chat_id, seq, d, now, lead_id)
                for seq, d in zip(seqs, closing, strict=True)
            ],
        )
    return seqs


async def add_page_view(
    session: AsyncSession,
    *,
    chat_id: str,
    url: str,
    referrer: str | None,
    title: str | None,
    now: datetime,
) -> None:
    session.add(PageView(session_id=chat_id, url=url, referrer=referrer, title=title, at=now))
    await session.flush()


async def idle_candidates(
    session: AsyncSession, *, quiet_since: datetime, limit: int = 100
) -> list[Conversation]:
    """Open conversations without a lead whose visitor has said nothing since `quiet_since`
    and which were not looked at since their last visitor message."""
    return await _quiet(session, quiet_since=quiet_since, limit=limit)


async def finished_uncaptured(
    session: AsyncSession, *, quiet_since: datetime, limit: int = 100
) -> list[Conversation]:
    """Conversations whose script finished (completed, or asked for a person) with no
    lead linked, quiet since `quiet_since`: their capture was lost (a crash or a failure
    between the turn's commit and the capture's)."""
    finished = _sessions.c.script_state[("engine", "finished")].as_string()
    return await _quiet(
        session, quiet_since=quiet_since, limit=limit, also=finished.in_(FINISHED_FOR_CAPTURE)
    )


#: `ScriptState.finished` values that a turn leaves to be captured as a lead.
FINISHED_FOR_CAPTURE = ("completed", "human")


async def _quiet(
    session: AsyncSession, *, quiet_since: datetime, limit: int, also: Any = None
) -> list[Conversation]:
    c = _sessions.c
    query = (
        select(*_CONVERSATION)
        .where(
            c.lead_id.is_(None),
            c.closed_at.is_(None),
            c.last_visitor_at.is_not(None),
            c.last_visitor_at < quiet_since,
            or_(c.idle_checked_at.is_(None), c.idle_checked_at <= c.last_visitor_at),
        )
        .order_by(c.last_visitor_at)
        .limit(limit)
    )
    if also is not None:
        query = query.where(also)
    conn = await session.connection()
    return [_conversation(row) for row in await conn.execute(query)]


async def lead_thread(session: AsyncSession, *, channel_id: str, thread_ts: str) -> Lead | None:
    """The lead whose card is the root of this Slack thread, locked for the relay."""
    return await session.scalar(
        select(Lead)
        .where(and_(Lead.slack_channel_id == channel_id, Lead.slack_ts == thread_ts))
        .with_for_update()
    )


async def session_of_lead(session: AsyncSession, lead_id: int) -> ChatSession | None:
    """The lead's most recent conversation (a returning visitor may have had several)."""
    return await session.scalar(
        select(ChatSession)
        .where(ChatSession.lead_id == lead_id)
        .order_by(ChatSession.last_seen_at.desc())
        .limit(1)
    )


async def set_first_contact(session: AsyncSession, lead_id: int, now: datetime) -> bool:
    """Record the lead's first contact unless one is already recorded."""
    result = await session.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.first_contact_at.is_(None))
        .values(first_contact_at=now, updated_at=now, last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def rep_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Rep.id, Rep.name))
    return {rep_id: name for rep_id, name in rows.all()}


async def get_message(session: AsyncSession, message_id: int) -> ChatMessage | None:
    return await session.get(ChatMessage, message_id)


async def mark_relayed(
    session: AsyncSession, message_id: int, *, now: datetime, slack_ts: str
) -> None:
    await session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message_id)
        .values(relayed_at=now, slack_ts=slack_ts)
        .execution_options(synchronize_session=False)
    )


async def rep_message_by_ts(session: AsyncSession, chat_id: str, ts: str) -> ChatMessage | None:
    """A rep reply already relayed from this Slack message (Slack may deliver it twice)."""
    return await session.scalar(
        select(ChatMessage).where(
            ChatMessage.session_id == chat_id,
            ChatMessage.author == "rep",
            ChatMessage.slack_ts == ts,
        )
    )
