"""The daily full DDM status report's clock (device_ddm.last_full_report_at, device-2026.md §3.5) and
the per-device DevicePropertiesAttestation switch (device_attestation.properties, §7)

Revision ID: 0018_issue32
Revises: 0018_issue30b
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_issue32"
down_revision: str | None = "0018_issue30b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("device_ddm", sa.Column("last_full_report_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("device_attestation", sa.Column("properties", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("device_attestation", "properties")
    op.drop_column("device_ddm", "last_full_report_at")
