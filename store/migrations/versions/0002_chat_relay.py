"""chat relay: per-conversation sequence, idempotent resends, relay and idle bookkeeping

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

`chat_messages.seq` is added NOT NULL without a default: nothing wrote chat
messages before this revision, so the table is empty when it runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ip", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("visitor_read_seq", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_visitor_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("idle_checked_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_chat_sessions_last_visitor_at"), ["last_visitor_at"], unique=False
        )

    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("client_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("author_name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("choices", JSON, nullable=True))
        batch_op.add_column(
            sa.Column("relayed_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_chat_messages_session_id_seq"), ["session_id", "seq"]
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_chat_messages_session_id_client_id"), ["session_id", "client_id"]
        )

    with op.batch_alter_table("page_views", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("page_views", schema=None) as batch_op:
        batch_op.drop_column("title")

    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_chat_messages_session_id_client_id"), type_="unique"
        )
        batch_op.drop_constraint(batch_op.f("uq_chat_messages_session_id_seq"), type_="unique")
        batch_op.drop_column("relayed_at")
        batch_op.drop_column("choices")
        batch_op.drop_column("author_name")
        batch_op.drop_column("client_id")
        batch_op.drop_column("seq")

    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_sessions_last_visitor_at"))
        batch_op.drop_column("idle_checked_at")
        batch_op.drop_column("last_visitor_at")
        batch_op.drop_column("visitor_read_seq")
        batch_op.drop_column("last_seq")
        batch_op.drop_column("ip")
