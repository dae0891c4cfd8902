"""Device software (product type, OS, RSR) and a Mac's AccountConfiguration (issue 31)

Null means what a fresh device of its model runs (dep_emulator.devices.software), so existing
rows need no backfill. Not part of DEP's Device object: the `wire` column is unchanged.

Revision ID: 0015_issue31
Revises: 0017_issue30
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_issue31"
down_revision: str | None = "0017_issue30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("device", sa.Column("product_type", sa.String(40), nullable=True))
    op.add_column("device", sa.Column("os_version", sa.String(20), nullable=True))
    op.add_column("device", sa.Column("os_build", sa.String(20), nullable=True))
    op.add_column("device", sa.Column("os_supplemental_extra", sa.String(8), nullable=True))
    # AccountConfiguration's settings kept by a Mac awaiting configuration.
    op.add_column("device_enrollment", sa.Column("account_configuration", postgresql.JSONB(), nullable=True))
    # Setup Assistant's web view on configuration_web_url, while it is open.
    op.create_table(
        "device_web_view",
        sa.Column(
            "device_id", sa.BigInteger(), sa.ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("start_url", sa.Text(), nullable=False),
        sa.Column("host_rule", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("page", sa.Text(), nullable=False),
        sa.Column("cookies", postgresql.JSONB(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("device_web_view")
    op.drop_column("device_enrollment", "account_configuration")
    for column in ("os_supplemental_extra", "os_build", "os_version", "product_type"):
        op.drop_column("device", column)
