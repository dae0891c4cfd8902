"""assignment throttling, activation lock and device-side state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Tables: assignment_attempt and assignment_cooldown (per-device throttling, spec §12),
activation_lock (§6.6), device_ca and device_setup (the device's side of enrollment),
account_driven_enrollment_profile (§6.13). Org switches live in org.settings (JSONB).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_attempt",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_assignment_attempt_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_attempt")),
    )
    op.create_index(
        "ix_assignment_attempt_device_at", "assignment_attempt", ["device_id", "at"], unique=False
    )
    op.create_table(
        "assignment_cooldown",
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_assignment_cooldown_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_assignment_cooldown")),
    )
    op.create_index(
        op.f("ix_assignment_cooldown_until_at"), "assignment_cooldown", ["until_at"], unique=False
    )
    op.create_table(
        "activation_lock",
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("server_id", sa.Integer(), nullable=True),
        sa.Column("escrow_key", sa.Text(), nullable=True),
        sa.Column("locked_to", sa.String(length=250), nullable=True),
        sa.Column("lost_message", sa.Text(), nullable=True),
        sa.Column("fail_remaining", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_activation_lock_device_id_device"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mdm_server.id"],
            name=op.f("fk_activation_lock_server_id_mdm_server"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_activation_lock")),
    )
    op.create_table(
        "device_ca",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_device_ca_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_ca")),
    )
    op.create_table(
        "device_setup",
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_uuid", sa.String(length=32), nullable=False),
        sa.Column("cloud_configuration", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_device_setup_device_id_device"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_setup")),
    )
    op.create_table(
        "account_driven_enrollment_profile",
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("mdm_service_discovery_url", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mdm_server.id"],
            name=op.f("fk_account_driven_enrollment_profile_server_id_mdm_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("server_id", name=op.f("pk_account_driven_enrollment_profile")),
    )


def downgrade() -> None:
    op.drop_table("account_driven_enrollment_profile")
    op.drop_table("device_setup")
    op.drop_table("device_ca")
    op.drop_table("activation_lock")
    op.drop_index(op.f("ix_assignment_cooldown_until_at"), table_name="assignment_cooldown")
    op.drop_table("assignment_cooldown")
    op.drop_index("ix_assignment_attempt_device_at", table_name="assignment_attempt")
    op.drop_table("assignment_attempt")
