"""Each device's JSON as Apple sends it (latest protocol), kept with the device

Fetch pages at the latest protocol are then one `string_agg` over stored text instead of
building 1000 JSON objects field by field per request (issue 3 speed targets). A generated
column, so every writer (ORM, COPY, set-based UPDATE) keeps it current without knowing.
The function body is `dep_emulator.devices.wire_sql.device_text` as of this migration, frozen here;
tests/devices/test_feed_sql.py checks pages against the Python wire code at every version.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARGUMENTS = (
    "serial_number, model, description, color, asset_tag, profile_status, "
    "profile_uuid, profile_assign_time, profile_push_time, device_assigned_date, "
    "device_assigned_by, os, device_family, mdm_migration_deadline, "
    "bluetooth_mac_address, ethernet_mac_address, wifi_mac_address, eid, imei, meid, "
    "is_replacement_device"
)

# IMMUTABLE although to_json and to_char are only STABLE: on text, arrays of text and booleans,
# with a fixed UTC zone and a purely numeric format, their results depend on the arguments alone.
WIRE_TIME_FUNCTION = """
CREATE FUNCTION depemu_wire_time(moment timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
"""
DEVICE_WIRE_FUNCTION = """
CREATE FUNCTION depemu_device_wire(
    serial_number text,
    model text,
    description text,
    color text,
    asset_tag text,
    profile_status text,
    profile_uuid text,
    profile_assign_time timestamptz,
    profile_push_time timestamptz,
    device_assigned_date timestamptz,
    device_assigned_by text,
    os text,
    device_family text,
    mdm_migration_deadline timestamptz,
    bluetooth_mac_address text,
    ethernet_mac_address text,
    wifi_mac_address text,
    eid text,
    imei text[],
    meid text[],
    is_replacement_device boolean
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN concat(
    '{"serial_number":' || to_json(serial_number)::text
    ,CASE WHEN model IS NOT NULL
        THEN ',"model":' || to_json(model)::text END
    ,CASE WHEN description IS NOT NULL
        THEN ',"description":' || to_json(description)::text END
    ,CASE WHEN color IS NOT NULL
        THEN ',"color":' || to_json(color)::text END
    ,CASE WHEN asset_tag IS NOT NULL
        THEN ',"asset_tag":' || to_json(asset_tag)::text END
    ,CASE WHEN profile_status IS NOT NULL
        THEN ',"profile_status":' || to_json(profile_status)::text END
    ,CASE WHEN profile_uuid IS NOT NULL
        THEN ',"profile_uuid":' || to_json(profile_uuid)::text END
    ,CASE WHEN profile_assign_time IS NOT NULL
        THEN ',"profile_assign_time":' || '"' || depemu_wire_time(profile_assign_time) || '"' END
    ,CASE WHEN profile_push_time IS NOT NULL
        THEN ',"profile_push_time":' || '"' || depemu_wire_time(profile_push_time) || '"' END
    ,CASE WHEN device_assigned_date IS NOT NULL
        THEN ',"device_assigned_date":' || '"' || depemu_wire_time(device_assigned_date) || '"' END
    ,CASE WHEN device_assigned_by IS NOT NULL
        THEN ',"device_assigned_by":' || to_json(device_assigned_by)::text END
    ,CASE WHEN os IS NOT NULL
        THEN ',"os":' || to_json(os)::text END
    ,CASE WHEN device_family IS NOT NULL
        THEN ',"device_family":' || to_json(device_family)::text END
    ,CASE WHEN mdm_migration_deadline IS NOT NULL
        THEN ',"mdm_migration_deadline":' || '"' || depemu_wire_time(mdm_migration_deadline) || '"' END
    ,CASE WHEN bluetooth_mac_address IS NOT NULL
        THEN ',"bluetooth_mac_address":' || to_json(bluetooth_mac_address)::text END
    ,CASE WHEN ethernet_mac_address IS NOT NULL
        THEN ',"ethernet_mac_address":' || to_json(ethernet_mac_address)::text END
    ,CASE WHEN wifi_mac_address IS NOT NULL
        THEN ',"wifi_mac_address":' || to_json(wifi_mac_address)::text END
    ,CASE WHEN eid IS NOT NULL
        THEN ',"eid":' || to_json(eid)::text END
    ,CASE WHEN cardinality(imei) > 0
        THEN ',"imei":' || to_json(imei)::text END
    ,CASE WHEN cardinality(meid) > 0
        THEN ',"meid":' || to_json(meid)::text END
    ,',"is_replacement_device":' || CASE WHEN is_replacement_device THEN 'true' ELSE 'false' END
    ,'}'
)
"""


def upgrade() -> None:
    op.execute(WIRE_TIME_FUNCTION)
    op.execute(DEVICE_WIRE_FUNCTION)
    op.add_column(
        "device",
        sa.Column("wire", sa.Text(), sa.Computed(f"depemu_device_wire({ARGUMENTS})", persisted=True)),
    )


def downgrade() -> None:
    op.drop_column("device", "wire")
    op.execute("DROP FUNCTION depemu_device_wire")
    op.execute("DROP FUNCTION depemu_wire_time")
