"""Each feed event stored once, as the JSON text sync sends (issue 14)

Until now an event kept its device snapshot twice: as JSONB (`snapshot`) and as the text sync
sends, generated from it by `depemu_event_wire` (0009, 0011). Every bulk assignment parsed the
device's stored `wire` text into JSONB and printed it back for each event, and the row carried
both forms (about 1.2 kB an event). Now `wire` is a plain column written by whoever appends the
event: the device's `wire` text with `op_type` and `op_date` spliced in before its closing brace
(`dep_emulator.devices.wire_sql.event_text`), or the same object built in Python. Older protocols
gate the text read as JSONB. Existing rows keep their text (JSONB's key order, which is still
the same JSON); no table rewrite.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_WIRE_FUNCTION = """
CREATE OR REPLACE FUNCTION depemu_event_wire(snapshot jsonb, op_type text, op_at timestamptz)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
BEGIN
RETURN concat(
    left(snapshot::text, -1), ', "op_type": "', op_type, '", "op_date": "',
    to_char(op_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '"}'
);
END
$body$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE device_event ALTER COLUMN wire DROP EXPRESSION")
    op.execute("ALTER TABLE device_event ALTER COLUMN wire SET NOT NULL")
    op.drop_column("device_event", "snapshot")
    op.execute("DROP FUNCTION depemu_event_wire(jsonb, text, timestamptz)")


def downgrade() -> None:
    op.add_column("device_event", sa.Column("snapshot", sa.dialects.postgresql.JSONB(), nullable=True))
    op.execute("UPDATE device_event SET snapshot = CAST(wire AS jsonb) - '{op_type,op_date}'::text[]")
    op.alter_column("device_event", "snapshot", nullable=False)
    op.execute(EVENT_WIRE_FUNCTION)
    op.drop_column("device_event", "wire")
    generated = sa.Computed("depemu_event_wire(snapshot, op_type, op_at)", persisted=True)
    op.add_column("device_event", sa.Column("wire", sa.Text(), generated))
