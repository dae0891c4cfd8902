"""Each sync event's JSON as Apple sends it (latest protocol), stored with the event

Sync pages at the latest protocol are then one `string_agg` over stored text instead of
re-serialising every snapshot and splicing op_type/op_date into it per request (issue 3
speed targets). A generated column, so no writer can forget it; events are append-only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# IMMUTABLE although to_char is only STABLE: with a fixed UTC zone and a purely numeric format
# its result depends on nothing but the arguments, which is what a generated column needs.
EVENT_WIRE_FUNCTION = """
CREATE FUNCTION depemu_event_wire(snapshot jsonb, op_type text, op_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN concat(
    left(snapshot::text, -1), ', "op_type": "', op_type, '", "op_date": "',
    to_char(op_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '"}'
)
"""


def upgrade() -> None:
    op.execute(EVENT_WIRE_FUNCTION)
    op.add_column(
        "device_event",
        sa.Column(
            "wire",
            sa.Text(),
            sa.Computed("depemu_event_wire(snapshot, op_type, op_at)", persisted=True),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("device_event", "wire")
    op.execute("DROP FUNCTION depemu_event_wire(jsonb, text, timestamptz)")
