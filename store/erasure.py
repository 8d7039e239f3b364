"""Queries for erasing a person (`/leads forget`). Callers own the session (one unit of work).

Reads lock what they will rewrite (`FOR UPDATE` on PostgreSQL; SQLite's writers
run one at a time), so a capture merging into the person's lead, or a turn of
their conversation, waits for the erasure rather than writing around it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ChatMessage, ChatSession, Lead, LeadEvent, OutboxMessage, PageView, Timer


async def person_leads(
    session: AsyncSession, *, emails: Collection[str], phones: Collection[str]
) -> list[Lead]:
    """Leads (not yet erased) with any of these normalized emails or E.164 phones, locked."""
    if not emails and not phones:
        return []
    matches = []
    if emails:
        matches.append(Lead.email_normalized.in_(sorted(emails)))
    if phones:
        matches.append(Lead.phone_e164.in_(sorted(phones)))
    rows = await session.scalars(
        select(Lead)
        .where(or_(*matches), Lead.erased_at.is_(None))
        .order_by(Lead.id)
        .with_for_update()
    )
    return list(rows)


async def person_sessions(
    session: AsyncSession, *, lead_ids: Collection[int], needles: Sequence[str]
) -> list[ChatSession]:
    """The leads' conversations, and conversations not (yet) linked to any lead whose script
    answers or messages contain one of `needles` (lowercase: a normalized email, an E.164
    phone), e.g. a visitor who left an email and went quiet before the idle capture."""
    found: set[str] = set()
    if lead_ids:
        found.update(
            await session.scalars(
                select(ChatSession.id).where(ChatSession.lead_id.in_(sorted(lead_ids)))
            )
        )
    if needles:
        state = func.lower(cast(ChatSession.script_state, Text))
        found.update(
            await session.scalars(
                select(ChatSession.id).where(
                    ChatSession.lead_id.is_(None),
                    or_(*(state.contains(n, autoescape=True) for n in needles)),
                )
            )
        )
        said = func.lower(ChatMessage.text)
        found.update(
            await session.scalars(
                select(ChatMessage.session_id)
                .join(ChatSession, ChatSession.id == ChatMessage.session_id)
                .where(
                    ChatSession.lead_id.is_(None),
                    or_(*(said.contains(n, autoescape=True) for n in needles)),
                )
                .distinct()
            )
        )
    if not found:
        return []
    rows = await session.scalars(
        select(ChatSession)
        .where(ChatSession.id.in_(sorted(found)))
        .order_by(ChatSession.id)
        # The rows are rewritten below: a concurrent turn waits (PostgreSQL).
        .with_for_update()
    )
    return list(rows)


def _messages_of(session_ids: Collection[str], lead_ids: Collection[int]) -> Any:
    return or_(
        ChatMessage.session_id.in_(sorted(session_ids)),
        ChatMessage.lead_id.in_(sorted(lead_ids)),
    )


@dataclass(frozen=True)
class RelayedLine:
    """A visitor's line and the lead whose card thread it was (or may be) relayed to."""

    message_id: int
    lead_id: int


async def visitor_lines_in_slack(
    session: AsyncSession,
    *,
    session_ids: Collection[str],
    lead_ids: Collection[int],
    relay_kind: str,
) -> list[RelayedLine]:
    """Visitor lines a card thread holds a copy of (`slack_ts` set), and those whose relay
    row is still waiting or in flight (it may post after this transaction has read them)."""
    if not session_ids and not lead_ids:
        return []
    rows = (
        await session.execute(
            select(ChatMessage.id, ChatMessage.lead_id).where(
                _messages_of(session_ids, lead_ids),
                ChatMessage.author == "visitor",
                ChatMessage.slack_ts.is_not(None),
                ChatMessage.lead_id.is_not(None),
            )
        )
    ).all()
    lines = {int(m): int(lead) for m, lead in rows if lead is not None}
    if lead_ids:
        pending = await session.execute(
            select(OutboxMessage.lead_id, OutboxMessage.payload).where(
                OutboxMessage.lead_id.in_(sorted(lead_ids)),
                OutboxMessage.kind == relay_kind,
                OutboxMessage.status == "pending",
            )
        )
        for lead_id, payload in pending.all():
            message_id = int((payload or {}).get("message_id") or 0)
            if message_id and lead_id is not None:
                lines.setdefault(message_id, int(lead_id))
    return [RelayedLine(m, lines[m]) for m in sorted(lines)]


async def erase_messages(
    session: AsyncSession,
    *,
    session_ids: Collection[str],
    lead_ids: Collection[int],
    text: str,
) -> int:
    """Replace the text of every line of these conversations (every author); how many."""
    if not session_ids and not lead_ids:
        return 0
    result = await session.execute(
        update(ChatMessage)
        .where(_messages_of(session_ids, lead_ids))
        .values(text=text)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def erase_page_views(session: AsyncSession, *, session_ids: Collection[str], url: str) -> int:
    """Blank the pages these conversations viewed (the rows stay, to be counted); how many."""
    if not session_ids:
        return 0
    result = await session.execute(
        update(PageView)
        .where(PageView.session_id.in_(sorted(session_ids)))
        .values(url=url, referrer=None, title=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def set_chat_session(session: AsyncSession, chat_id: str, **values: Any) -> None:
    await session.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def set_erased_lead(
    session: AsyncSession, lead_id: int, *, now: datetime, **values: Any
) -> None:
    """Write an erased lead's remaining values and mark it erased."""
    await session.execute(
        update(Lead)
        .where(Lead.id == lead_id)
        .values(erased_at=now, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )


async def events_of(session: AsyncSession, lead_ids: Collection[int]) -> list[LeadEvent]:
    if not lead_ids:
        return []
    rows = await session.scalars(
        select(LeadEvent).where(LeadEvent.lead_id.in_(sorted(lead_ids))).order_by(LeadEvent.id)
    )
    return list(rows)


async def set_event(
    session: AsyncSession, event_id: int, *, reason: str | None, data: dict[str, Any]
) -> None:
    """Rewrite an event's reason and data only: its kind, states, actor and time stay."""
    await session.execute(
        update(LeadEvent)
        .where(LeadEvent.id == event_id)
        .values(reason=reason, data=data)
        .execution_options(synchronize_session=False)
    )


async def outbox_rows_of(session: AsyncSession, lead_ids: Collection[int]) -> list[OutboxMessage]:
    if not lead_ids:
        return []
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.lead_id.in_(sorted(lead_ids)))
        .order_by(OutboxMessage.id)
    )
    return list(rows)


async def set_outbox_row(
    session: AsyncSession, row_id: int, *, payload: dict[str, Any], last_error: str | None
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(payload=payload, last_error=last_error)
        .execution_options(synchronize_session=False)
    )


async def timers_of(session: AsyncSession, lead_ids: Collection[int]) -> list[Timer]:
    if not lead_ids:
        return []
    rows = await session.scalars(
        select(Timer).where(Timer.lead_id.in_(sorted(lead_ids))).order_by(Timer.id)
    )
    return list(rows)


async def set_timer_payload(session: AsyncSession, timer_id: int, payload: dict[str, Any]) -> None:
    await session.execute(
        update(Timer)
        .where(Timer.id == timer_id)
        .values(payload=payload)
        .execution_options(synchronize_session=False)
    )


async def has_pending_card_post(session: AsyncSession, lead_id: int, post_kind: str) -> bool:
    """Whether the lead's card is still to be posted (or its post is in flight)."""
    found = await session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.lead_id == lead_id,
            OutboxMessage.kind == post_kind,
            OutboxMessage.status == "pending",
        )
        .limit(1)
    )
    return found is not None


async def relayed_line(session: AsyncSession, message_id: int) -> tuple[str, str] | None:
    """(channel, ts) of a visitor line's copy in its lead's card thread, if it has one."""
    row = (
        await session.execute(
            select(Lead.slack_channel_id, ChatMessage.slack_ts)
            .join(Lead, Lead.id == ChatMessage.lead_id)
            .where(ChatMessage.id == message_id, ChatMessage.author == "visitor")
        )
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return str(row[0]), str(row[1])
