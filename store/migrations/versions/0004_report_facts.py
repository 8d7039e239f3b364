"""report facts: the projection of lead events that reports read

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Existing events start unprojected, so the running service's projector
(bot/metrics.py) folds every existing lead into `lead_facts` on its first
passes; nothing is computed here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Moment = store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("projected", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.create_index(
        "ix_lead_events_unprojected",
        "lead_events",
        ["lead_id"],
        unique=False,
        sqlite_where=sa.text("NOT projected"),
        postgresql_where=sa.text("NOT projected"),
    )
    op.create_table(
        "lead_facts",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("captured_at", Moment, nullable=False),
        sa.Column("intake", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queue_id", sa.String(length=40), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("posted_at", Moment, nullable=True),
        sa.Column("first_claimed_at", Moment, nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("releases", sa.Integer(), nullable=False),
        sa.Column("first_contact_at", Moment, nullable=True),
        sa.Column("first_contact_by", sa.String(length=32), nullable=True),
        sa.Column("claim_seconds", sa.Integer(), nullable=True),
        sa.Column("claim_business_seconds", sa.Integer(), nullable=True),
        sa.Column("contact_seconds", sa.Integer(), nullable=True),
        sa.Column("contact_business_seconds", sa.Integer(), nullable=True),
        sa.Column("sla", sa.String(length=8), nullable=True),
        sa.Column("won_at", Moment, nullable=True),
        sa.Column("lost_at", Moment, nullable=True),
        sa.Column("merges", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_facts_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_facts")),
    )
    op.create_index(
        "ix_lead_facts_captured_at_stage", "lead_facts", ["captured_at", "stage"], unique=False
    )
    op.create_table(
        "lead_rep_facts",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.String(length=32), nullable=False),
        sa.Column("captured_at", Moment, nullable=False),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("releases", sa.Integer(), nullable=False),
        sa.Column("timeouts", sa.Integer(), nullable=False),
        sa.Column("first_contact", sa.Boolean(), nullable=False),
        sa.Column("contact_seconds", sa.Integer(), nullable=True),
        sa.Column("contact_business_seconds", sa.Integer(), nullable=True),
        sa.Column("sla_missed", sa.Boolean(), nullable=False),
        sa.Column("won", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_rep_facts_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("lead_id", "rep_id", name=op.f("pk_lead_rep_facts")),
    )
    op.create_index(
        "ix_lead_rep_facts_captured_at_rep_id",
        "lead_rep_facts",
        ["captured_at", "rep_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_lead_rep_facts_captured_at_rep_id", table_name="lead_rep_facts")
    op.drop_table("lead_rep_facts")
    op.drop_index("ix_lead_facts_captured_at_stage", table_name="lead_facts")
    op.drop_table("lead_facts")
    op.drop_index("ix_lead_events_unprojected", table_name="lead_events")
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.drop_column("projected")
