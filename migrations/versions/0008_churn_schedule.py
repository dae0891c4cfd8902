"""Scheduled churn (depsim's device_insertions / device_deletions)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "churn_schedule",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("devices_per_event", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("max_event_count", sa.Integer(), nullable=True),
        sa.Column("device_types", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        sa.Column("events_run", sa.Integer(), server_default="0", nullable=False),
        sa.Column("devices_generated", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("devices_affected", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_churn_schedule_org_id_org"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mdm_server.id"],
            name=op.f("fk_churn_schedule_server_id_mdm_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_schedule")),
        sa.UniqueConstraint("org_id", "name", name="uq_churn_schedule_org_name"),
    )
    op.create_index("ix_churn_schedule_next_run_at", "churn_schedule", ["next_run_at"], unique=False)
    op.create_index(op.f("ix_churn_schedule_org_id"), "churn_schedule", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_churn_schedule_org_id"), table_name="churn_schedule")
    op.drop_index("ix_churn_schedule_next_run_at", table_name="churn_schedule")
    op.drop_table("churn_schedule")
