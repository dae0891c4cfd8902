"""assignment throttling, activation lock and device-side state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Placeholder, filled in by the change that needs it (kept in the chain so that migrations
written in parallel stay linear).
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
