"""Declarative Device Management state of each managed device (device-2026.md §3); the emulated
Apple attestation CA and each device's attestation switches and cache (§6, §7)

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
        sa.Column("full_report_due", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device_enrollment.device_id"],
            name=op.f("fk_device_ddm_device_id_device_enrollment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_ddm")),
    )

    op.create_table(
        "attestation_ca",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_pem", sa.Text(), nullable=False),
        sa.Column("root_key_pem", sa.Text(), nullable=False),
        sa.Column("intermediate_pem", sa.Text(), nullable=False),
        sa.Column("intermediate_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_attestation_ca_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestation_ca")),
    )
    op.create_table(
        "device_attestation",
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("tamper", sa.String(40), nullable=True),
        sa.Column("cached_chain", postgresql.JSONB(), nullable=True),
        sa.Column("cached_nonce", sa.LargeBinary(), nullable=True),
        sa.Column("minted_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_device_attestation_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_attestation")),
    )


def downgrade() -> None:
    op.drop_table("device_attestation")
    op.drop_table("attestation_ca")
    op.drop_table("device_ddm")
