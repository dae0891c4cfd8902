"""The wire functions of 0009 and 0010 in PL/pgSQL: the same text, a tenth of the cost per row

A SQL-language function is inlined into the expression that calls it only when its body is as
immutable as it is declared; these bodies call `to_json` and `to_char` (STABLE), so every stored
`device.wire` and `device_event.wire` ran a whole SQL function per row: about 50 µs, more than
COPY of the row itself (issue 14, measured with `bench/bulk.py`). PL/pgSQL evaluates a
`RETURN expression` as a simple expression, a few µs. Same signatures, same results (the
stored columns are not rewritten); `depemu_wire_time` keeps its SQL body for other callers but
the device function no longer calls it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
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
DEVICE_WIRE_FUNCTION = """
CREATE OR REPLACE FUNCTION depemu_device_wire(
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
) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
BEGIN
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
        THEN ',"profile_assign_time":' || '"'
            || to_char(profile_assign_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"' END
    ,CASE WHEN profile_push_time IS NOT NULL
        THEN ',"profile_push_time":' || '"'
            || to_char(profile_push_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"' END
    ,CASE WHEN device_assigned_date IS NOT NULL
        THEN ',"device_assigned_date":' || '"'
            || to_char(device_assigned_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"' END
    ,CASE WHEN device_assigned_by IS NOT NULL
        THEN ',"device_assigned_by":' || to_json(device_assigned_by)::text END
    ,CASE WHEN os IS NOT NULL
        THEN ',"os":' || to_json(os)::text END
    ,CASE WHEN device_family IS NOT NULL
        THEN ',"device_family":' || to_json(device_family)::text END
    ,CASE WHEN mdm_migration_deadline IS NOT NULL
        THEN ',"mdm_migration_deadline":' || '"'
            || to_char(mdm_migration_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"' END
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
);
END
$body$
"""
# 0009 and 0010 as they were, for downgrade.
OLD_EVENT_WIRE_FUNCTION = """
CREATE OR REPLACE FUNCTION depemu_event_wire(snapshot jsonb, op_type text, op_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN concat(
    left(snapshot::text, -1), ', "op_type": "', op_type, '", "op_date": "',
    to_char(op_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '"}'
)
"""
OLD_DEVICE_WIRE_FUNCTION = """
CREATE OR REPLACE FUNCTION depemu_device_wire(
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
    op.execute(EVENT_WIRE_FUNCTION)
    op.execute(DEVICE_WIRE_FUNCTION)


def downgrade() -> None:
    op.execute(OLD_EVENT_WIRE_FUNCTION)
    op.execute(OLD_DEVICE_WIRE_FUNCTION)
