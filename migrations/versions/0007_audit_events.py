"""Audit trail of device inventory and assignment changes (GET /v1/auditEvents)

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=250), nullable=True),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        sa.Column("device_model", sa.String(length=120), nullable=False),
        sa.Column("server_uuid", sa.String(length=32), nullable=True),
        sa.Column("server_name", sa.String(length=200), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_audit_event_org_id_org"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index("ix_audit_event_org_time", "audit_event", ["org_id", "occurred_at", "id"], unique=False)
    op.create_index("ix_audit_event_serial", "audit_event", ["serial_number", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_event_serial", table_name="audit_event")
    op.drop_index("ix_audit_event_org_time", table_name="audit_event")
    op.drop_table("audit_event")
