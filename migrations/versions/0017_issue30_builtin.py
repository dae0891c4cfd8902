"""Apple's built-in device management: its server row, its enrollments (mdmDevices) and seeded
Activation Lock statuses

Revision ID: 0017_issue30
Revises: 0016_issue30
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_issue30"
down_revision: str | None = "0016_issue30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "builtin_service",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_builtin_service_org_id_org"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mdm_server.id"],
            name=op.f("fk_builtin_service_server_id_mdm_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_builtin_service")),
        sa.UniqueConstraint("server_id", name=op.f("uq_builtin_service_server_id")),
    )
    op.create_table(
        "builtin_enrollment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=True),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        sa.Column("device_name", sa.String(length=200), nullable=False),
        sa.Column("device_family", sa.String(length=20), nullable=False),
        sa.Column("device_model", sa.String(length=120), nullable=False),
        sa.Column("os_version", sa.String(length=20), nullable=False),
        sa.Column("wifi_mac_address", sa.String(length=17), nullable=False),
        sa.Column("bluetooth_mac_address", sa.String(length=17), nullable=False),
        sa.Column("ethernet_mac_address", sa.String(length=17), nullable=False),
        sa.Column("imei", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("meid", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("lost_mode", sa.Boolean(), nullable=False),
        sa.Column("file_vault", sa.Boolean(), nullable=False),
        sa.Column("firewall", sa.Boolean(), nullable=False),
        sa.Column("storage_free", sa.BigInteger(), nullable=False),
        sa.Column("storage_total", sa.BigInteger(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_check_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_builtin_enrollment_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_builtin_enrollment_org_id_org"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["org_user.id"],
            name=op.f("fk_builtin_enrollment_user_id_org_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builtin_enrollment")),
        sa.UniqueConstraint("device_id", name=op.f("uq_builtin_enrollment_device_id")),
    )
    op.create_index("ix_builtin_enrollment_org_id_key", "builtin_enrollment", ["org_id", "id"], unique=False)
    op.create_table(
        "activation_lock_status",
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("lock_type", sa.String(length=8), nullable=False),
        sa.Column("server_error", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_activation_lock_status_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_activation_lock_status")),
    )


def downgrade() -> None:
    op.drop_table("activation_lock_status")
    op.drop_table("builtin_enrollment")
    op.drop_table("builtin_service")
