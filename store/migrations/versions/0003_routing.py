"""routing: each rep's earned share of a queue's leads, why a lead went where it did, rep events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

`queue_members.earned` starts at 0 for existing members: the fair-share
rotation then behaves as "least recently offered" until balances build up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("earned", sa.Float(), server_default="0", nullable=False))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing", JSON, nullable=True))
    op.create_table(
        "rep_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rep_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep_events")),
    )
    op.create_index("ix_rep_events_rep_id_at", "rep_events", ["rep_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rep_events_rep_id_at", table_name="rep_events")
    op.drop_table("rep_events")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("routing")
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.drop_column("earned")
