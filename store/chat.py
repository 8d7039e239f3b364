"""Queries on widget conversations. Callers own the session (one unit of work)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ChatMessage, ChatSession, Lead, PageView, Rep


async def create_session(
    session: AsyncSession,
    *,
    id: str,
    token_hash: str,
    now: datetime,
    origin: str | None,
    ip: str | None,
    script_state: dict[str, Any],
    touch: dict[str, Any] | None,
    opening: Sequence[Draft] = (),
) -> tuple[ChatSession, list[ChatMessage]]:
    """A new conversation and its `opening` messages (seqs 1…n, no counter round trip)."""
    row = ChatSession(
        id=id,
        token_hash=token_hash,
        origin=origin,
        ip=ip,
        script_state=script_state,
        first_touch=touch or {},
        last_touch=touch or {},
        last_seq=len(opening),
        visitor_read_seq=0,
        started_at=now,
        last_seen_at=now,
    )
    session.add(row)
    await session.flush()  # first: the ORM does not order inserts by foreign keys
    messages = [_message(id, n, d, now, None) for n, d in enumerate(opening, start=1)]
    if messages:
        session.add_all(messages)
        await session.flush()
    return row, messages


async def by_token_hash(session: AsyncSession, token_hash: str) -> ChatSession | None:
    return await session.scalar(select(ChatSession).where(ChatSession.token_hash == token_hash))


async def lock_session(session: AsyncSession, chat_id: str) -> ChatSession | None:
    """The conversation row, locked on PostgreSQL so its turns run one at a time."""
    return await session.scalar(
        select(ChatSession)
        .where(ChatSession.id == chat_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def lock_sessions(session: AsyncSession, chat_ids: Sequence[str]) -> dict[str, ChatSession]:
    """Several conversations' rows in one query, locked in id order (no deadlock between
    replicas locking overlapping sets) on PostgreSQL; a batch of turns runs under them."""
    rows = await session.scalars(
        select(ChatSession)
        .where(ChatSession.id.in_(sorted(set(chat_ids))))
        .order_by(ChatSession.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


async def stored_client_ids(
    session: AsyncSession, chat_ids: Sequence[str], client_ids: Sequence[str]
) -> dict[tuple[str, str], int]:
    """(conversation, client_id) → seq of the visitor messages already stored, in one query.

    Filters on both columns separately (portable); the caller looks up exact pairs."""
    rows = await session.execute(
        select(ChatMessage.session_id, ChatMessage.client_id, ChatMessage.seq).where(
            ChatMessage.session_id.in_(set(chat_ids)),
            ChatMessage.client_id.in_(set(client_ids)),
        )
    )
    return {(str(chat_id), str(client_id)): seq for chat_id, client_id, seq in rows.all()}


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
    return ChatMessage(
        session_id=chat_id,
        seq=seq,
        client_id=d.client_id,
        lead_id=lead_id,
        author=d.author,
        rep_id=d.rep_id,
        author_name=d.author_name,
        text=d.text,
        choices=d.choices or None,
        slack_ts=d.slack_ts,
        created_at=now,
    )


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


async def by_client_id(session: AsyncSession, chat_id: str, client_id: str) -> ChatMessage | None:
    return await session.scalar(
        select(ChatMessage).where(
            ChatMessage.session_id == chat_id, ChatMessage.client_id == client_id
        )
    )


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


async def link_lead(session: AsyncSession, chat_id: str, lead_id: int) -> bool:
    """Link the conversation to its lead, once: False if another capture got there first."""
    result = await session.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.lead_id.is_(None))
        .values(lead_id=lead_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


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
) -> list[ChatSession]:
    """Open conversations without a lead whose visitor has said nothing since `quiet_since`
    and which were not looked at since their last visitor message."""
    rows = await session.scalars(
        select(ChatSession)
        .where(
            ChatSession.lead_id.is_(None),
            ChatSession.closed_at.is_(None),
            ChatSession.last_visitor_at.is_not(None),
            ChatSession.last_visitor_at < quiet_since,
            or_(
                ChatSession.idle_checked_at.is_(None),
                ChatSession.idle_checked_at <= ChatSession.last_visitor_at,
            ),
        )
        .order_by(ChatSession.last_visitor_at)
        .limit(limit)
    )
    return list(rows)


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
