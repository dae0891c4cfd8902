"""traffic rules, fault scripts and the request journal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Placeholder, filled in by the change that needs it (kept in the chain so that migrations
written in parallel stay linear).
"""

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
