"""Typed ORM models: the whole schema, including tables later capabilities fill.

Rules: metrics come from `lead_events`, never from mutable counters alone;
every datetime is a `UTCDateTime`; no business logic lives here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import UTCDateTime

JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
    }


class Queue(Base):
    """A Slack channel with an ordered set of reps; mirrored from the config file."""

    __tablename__ = "queues"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    channel_id: Mapped[str] = mapped_column(String(32))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    exclusivity_seconds: Mapped[int] = mapped_column(Integer, default=120)


class Rep(Base):
    """A sales rep (a Slack user). `away` is runtime state set by `/leads away`."""

    __tablename__ = "reps"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    away_since: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class QueueMember(Base):
    """Round-robin state per (queue, rep); in the database so it survives restarts."""

    __tablename__ = "queue_members"
    queue_id: Mapped[str] = mapped_column(ForeignKey("queues.id"), primary_key=True)
    rep_id: Mapped[str] = mapped_column(ForeignKey("reps.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    last_offered_at: Mapped[datetime | None]
    offers_count: Mapped[int] = mapped_column(Integer, default=0)
    # This rep's fair share of the queue's leads, earned while available (bot/domain/rotation.py).
    earned: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class Lead(Base):
    """A person who might buy. Contact fields are kept as given plus normalized."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    grade: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer, default=0)
    score_reasons: Mapped[list[Any]] = mapped_column(JSONType, default=list)

    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)

    intake: Mapped[str] = mapped_column(String(16))  # api | widget | import
    source: Mapped[str | None] = mapped_column(String(200), index=True)
    utm: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))

    queue_id: Mapped[str | None] = mapped_column(ForeignKey("queues.id"))
    offered_rep_id: Mapped[str | None] = mapped_column(String(32))
    offered_at: Mapped[datetime | None]
    exclusive_until: Mapped[datetime | None]
    owner_id: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    asked_for_human: Mapped[bool] = mapped_column(Boolean, default=False)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    follow_up_at: Mapped[datetime | None]

    sla_status: Mapped[str | None] = mapped_column(String(16))  # pending | met | missed
    # Why this queue and this rep: the route's reason and the last offer's skips (for the card).
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))

    captured_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    merged_count: Mapped[int] = mapped_column(Integer, default=0)
    erased_at: Mapped[datetime | None]


class LeadEvent(Base):
    """One row per state change or notable act: who, when, from, to, why."""

    __tablename__ = "lead_events"
    __table_args__ = (
        Index("ix_lead_events_lead_id_at", "lead_id", "at"),
        Index("ix_lead_events_kind_at", "kind", "at"),
        # The projector's work list: leads with events not yet in `lead_facts`.
        Index(
            "ix_lead_events_unprojected",
            "lead_id",
            sqlite_where=text("NOT projected"),
            postgresql_where=text("NOT projected"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]
    # Folded into `lead_facts` yet? Set by the projector (bot/metrics.py) in its transaction.
    projected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class LeadFact(Base):
    """One lead as the reports see it: a projection of its events (bot/domain/metrics.py).

    Rebuilt from `lead_events` whenever the lead has new ones; never edited otherwise.
    """

    __tablename__ = "lead_facts"
    __table_args__ = (Index("ix_lead_facts_captured_at_stage", "captured_at", "stage"),)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    captured_at: Mapped[datetime]
    intake: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(200))
    grade: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    queue_id: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[int] = mapped_column(Integer)
    posted_at: Mapped[datetime | None]
    first_claimed_at: Mapped[datetime | None]
    claims: Mapped[int] = mapped_column(Integer, default=0)
    releases: Mapped[int] = mapped_column(Integer, default=0)
    first_contact_at: Mapped[datetime | None]
    first_contact_by: Mapped[str | None] = mapped_column(String(32))
    claim_seconds: Mapped[int | None] = mapped_column(Integer)
    claim_business_seconds: Mapped[int | None] = mapped_column(Integer)
    contact_seconds: Mapped[int | None] = mapped_column(Integer)
    contact_business_seconds: Mapped[int | None] = mapped_column(Integer)
    sla: Mapped[str | None] = mapped_column(String(8))  # met | missed
    won_at: Mapped[datetime | None]
    lost_at: Mapped[datetime | None]
    merges: Mapped[int] = mapped_column(Integer, default=0)


class LeadRepFact(Base):
    """What one rep did with one lead: a projection of the lead's events."""

    __tablename__ = "lead_rep_facts"
    __table_args__ = (Index("ix_lead_rep_facts_captured_at_rep_id", "captured_at", "rep_id"),)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    rep_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    captured_at: Mapped[datetime]
    offers: Mapped[int] = mapped_column(Integer, default=0)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    releases: Mapped[int] = mapped_column(Integer, default=0)
    timeouts: Mapped[int] = mapped_column(Integer, default=0)
    first_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_seconds: Mapped[int | None] = mapped_column(Integer)
    contact_business_seconds: Mapped[int | None] = mapped_column(Integer)
    sla_missed: Mapped[bool] = mapped_column(Boolean, default=False)
    won: Mapped[bool] = mapped_column(Boolean, default=False)


class RepEvent(Base):
    """A rep's availability change (`/leads away`, `/leads back`), for auditing fairness."""

    __tablename__ = "rep_events"
    __table_args__ = (Index("ix_rep_events_rep_id_at", "rep_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rep_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # away | back
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """An intent to call Slack, written in the same transaction as the change it reports.

    `ordering_key` groups rows that must go out in order (one channel's cards);
    `lease_owner`/`lease_until` let one dispatcher at a time work a row.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    ordering_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # Where the delivery posted a message about the lead (a DM, a thread note), so an
    # erasure can overwrite that copy; the channel may be a user id for a DM.
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))


class ApiKey(Base):
    """An intake API key. Only the SHA-256 of the key is stored; `prefix` identifies it."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SlackEventSeen(Base):
    """Event ids already handled, so Slack's retries of one delivery act once."""

    __tablename__ = "slack_events_seen"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class Timer(Base):
    """A durable deadline (SLA step, follow-up reminder, idle capture).

    Fired by a conditional update from `pending`, so it fires once across replicas.
    """

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("lead_id", "kind", "step"),
        Index("ix_timers_status_due_at", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|fired|cancelled
    fired_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ChatSession(Base):
    """A widget conversation; the browser keeps a token whose hash is stored here."""

    __tablename__ = "chat_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    origin: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    script_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The last `seq` handed out; bumped with one UPDATE so concurrent appends never collide.
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    visitor_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # Idle capture: due when the visitor has been quiet long enough and not checked since.
    last_visitor_at: Mapped[datetime | None] = mapped_column(index=True)
    idle_checked_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class ChatMessage(Base):
    """One line of a conversation, whoever wrote it, with its relay bookkeeping."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_session_id_id", "session_id", "id"),
        UniqueConstraint("session_id", "seq"),
        # A visitor's resend (same client_id) is found, never stored twice.
        UniqueConstraint("session_id", "client_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("chat_sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str | None] = mapped_column(String(64))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    author: Mapped[str] = mapped_column(String(12))  # visitor | bot | rep | system
    rep_id: Mapped[str | None] = mapped_column(String(32))
    author_name: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[Any] | None] = mapped_column(JSONType)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    relayed_at: Mapped[datetime | None]


class PageView(Base):
    __tablename__ = "page_views"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class SourceCost(Base):
    """Spend on a lead source over a period, set by `/leads cost`."""

    __tablename__ = "source_costs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Digest(Base):
    """A manager's recurring report to a channel; `next_run_at` is the durable deadline."""

    __tablename__ = "digests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    report: Mapped[str] = mapped_column(String(16), default="report")
    period: Mapped[str] = mapped_column(String(32))
    cadence: Mapped[str] = mapped_column(String(8))  # daily | weekly
    at_hour: Mapped[int] = mapped_column(Integer, default=9)
    weekday: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(32))
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
