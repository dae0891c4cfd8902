"""Blueprint lifecycle switches: when a deleted Blueprint (TO_BE_DELETED) disappears, and when a
linkage entry was added (the read-after-write delay on linkage GETs)

Revision ID: 0018_issue30b
Revises: 0018_issue31
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_issue30b"
down_revision: str | None = "0018_issue31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("blueprint", sa.Column("purge_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("blueprint_member", sa.Column("added_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("blueprint_member", "added_at")
    op.drop_column("blueprint", "purge_at")
