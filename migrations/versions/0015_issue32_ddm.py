"""Declarative Device Management state of each managed device (device-2026.md §3)

Revision ID: 0015_issue32
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_issue32"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "device_ddm",
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("while_awaiting", sa.String(16), nullable=True),
        sa.Column("declarations_token", sa.Text(), nullable=True),
        sa.Column("declarations", postgresql.JSONB(), nullable=False),
        sa.Column("status", postgresql.JSONB(), nullable=False),
        sa.Column("assets", postgresql.JSONB(), nullable=False),
        sa.Column("legacy_profiles", postgresql.JSONB(), nullable=False),
        sa.Column("reported", postgresql.JSONB(), nullable=False),
        sa.Column("last_report", postgresql.JSONB(), nullable=True),
        sa.Column("last_report_at", TZ, nullable=True),
        sa.Column("reports_sent", sa.Integer(), nullable=False),
        sa.Column("last_sync", postgresql.JSONB(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device_enrollment.device_id"],
            name=op.f("fk_device_ddm_device_id_device_enrollment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_ddm")),
    )


def downgrade() -> None:
    op.drop_table("device_ddm")
