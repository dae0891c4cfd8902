"""Setup Assistant's progress on a managed device: TokenUpdate held, DeviceConfigured (issue 31)

`token_update_at` is when the device sent TokenUpdate (null: it stopped after Authenticate, to
reproduce an MDM that sends commands before TokenUpdate); `configured_at` when DeviceConfigured
ended Await Configuration. Enrollments made before this revision sent TokenUpdate when they
enrolled; whether one of them was released is not known (left null).

Revision ID: 0018_issue31
Revises: 0015_issue31
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_issue31"
down_revision: str | None = "0015_issue31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("token_update_at", "configured_at"):
        op.add_column("device_enrollment", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE device_enrollment SET token_update_at = enrolled_at")


def downgrade() -> None:
    op.drop_column("device_enrollment", "configured_at")
    op.drop_column("device_enrollment", "token_update_at")
