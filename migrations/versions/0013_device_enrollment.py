"""Managed devices: each enrolled device's identity and state, and its exchanges with the MDM

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "device_enrollment",
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("udid", sa.String(64), nullable=False),
        sa.Column("enrolled_at", TZ, nullable=False),
        sa.Column("server_url", sa.Text(), nullable=False),
        sa.Column("check_in_url", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("sign_message", sa.Boolean(), nullable=False),
        sa.Column("check_out_when_removed", sa.Boolean(), nullable=False),
        sa.Column("mdm_removable", sa.Boolean(), nullable=False),
        sa.Column("identity_certificate_pem", sa.Text(), nullable=False),
        sa.Column("identity_key_pem", sa.Text(), nullable=False),
        sa.Column("anchors_pem", postgresql.JSONB(), nullable=False),
        sa.Column("push_magic", sa.String(64), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("unlock_token", sa.LargeBinary(), nullable=True),
        sa.Column("awaiting_configuration", sa.Boolean(), nullable=False),
        sa.Column("enrollment_profile_identifier", sa.Text(), nullable=False),
        sa.Column("profiles", postgresql.JSONB(), nullable=False),
        sa.Column("lock", postgresql.JSONB(), nullable=True),
        sa.Column("not_now_remaining", sa.Integer(), nullable=False),
        sa.Column("poll_every_seconds", sa.Float(), nullable=True),
        sa.Column("next_poll_at", TZ, nullable=True),
        sa.Column("lease_until", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_device_enrollment_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_enrollment")),
    )
    op.create_index("ix_device_enrollment_next_poll_at", "device_enrollment", ["next_poll_at"])
    op.create_table(
        "mdm_exchange",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("step", sa.String(60), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("command_uuid", sa.String(100), nullable=True),
        sa.Column("sent", sa.Text(), nullable=True),
        sa.Column("answered", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_mdm_exchange_device_id_device"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdm_exchange")),
    )
    op.create_index("ix_mdm_exchange_device", "mdm_exchange", ["device_id", "id"])


def downgrade() -> None:
    op.drop_table("mdm_exchange")
    op.drop_table("device_enrollment")
