"""Where each assignment-history row came from, and in which org (the console's View Assignment History)

`source`: portal (the web console), control_api, abm_api (a Business Manager activity),
mdm (a DEP disown). Null on rows written before this revision: they are read by the rule in
dep_emulator.devices.history (an API client id is abm_api, a disown is mdm, else control_api).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("device_assignment", sa.Column("source", sa.String(16), nullable=True))
    # The org the device was in at each change, so an org's history keeps released devices' rows.
    op.add_column("device_assignment", sa.Column("org_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE device_assignment a SET org_id = d.org_id FROM device d WHERE d.id = a.device_id"
    )
    op.create_index("ix_device_assignment_org", "device_assignment", ["org_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_device_assignment_org", table_name="device_assignment")
    op.drop_column("device_assignment", "org_id")
    op.drop_column("device_assignment", "source")
