"""Apple's Device object (spec §7) built by PostgreSQL, for the hot paths (issue 3 speed targets).

Fetch and sync pages of 1000 devices were dominated by Python building, gating and encoding
1000 dicts; here the page's JSON is assembled by PostgreSQL in the same keyset query and the
text is spliced into the response without being parsed again. Set-based assignment uses
`device_object()` (ungated) for the event snapshots.

These expressions must say exactly what `app.devices.wire.device_fields` and `wire.gate` say
(absent values left out, never null; `imei`/`meid` only when non-empty; second-precision UTC
times with `Z`; fields gated by protocol; iPadOS reads iOS below protocol 7).
tests/devices/test_wire_sql.py compares the two for every protocol version.
"""

from __future__ import annotations

from app.devices.wire import IPADOS_SINCE, SINCE_VERSION

_TIME = "to_char(({col}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
_ARRAY = "CASE WHEN cardinality({col}) > 0 THEN to_jsonb({col}) END"

# (wire name, SQL over the device row); the order of wire.device_fields.
_FIELDS: tuple[tuple[str, str], ...] = (
    ("serial_number", "{d}.serial_number"),
    ("model", "{d}.model"),
    ("description", "{d}.description"),
    ("color", "{d}.color"),
    ("asset_tag", "{d}.asset_tag"),
    ("profile_status", "{d}.profile_status"),
    ("profile_uuid", "{d}.profile_uuid"),
    ("profile_assign_time", _TIME.format(col="{d}.profile_assign_time")),
    ("profile_push_time", _TIME.format(col="{d}.profile_push_time")),
    ("device_assigned_date", _TIME.format(col="{d}.device_assigned_date")),
    ("device_assigned_by", "{d}.device_assigned_by"),
    ("os", "{d}.os"),
    ("device_family", "{d}.device_family"),
    ("mdm_migration_deadline", _TIME.format(col="{d}.mdm_migration_deadline")),
    ("bluetooth_mac_address", "{d}.bluetooth_mac_address"),
    ("ethernet_mac_address", "{d}.ethernet_mac_address"),
    ("wifi_mac_address", "{d}.wifi_mac_address"),
    ("eid", "{d}.eid"),
    ("imei", _ARRAY.format(col="{d}.imei")),
    ("meid", _ARRAY.format(col="{d}.meid")),
    ("is_replacement_device", "{d}.is_replacement_device"),
)


def device_object(alias: str, version: int | None = None) -> str:
    """A jsonb expression: the device row `alias` on the wire; ungated when `version` is None.

    Gating is decided here, in Python, so the SQL text differs per version (a handful of
    prepared statements) and PostgreSQL never builds a field it would then drop.
    """
    pairs: list[str] = []
    for name, expression in _FIELDS:
        if version is not None and SINCE_VERSION.get(name, 1) > version:
            continue
        sql = expression.format(d=alias)
        if name == "os" and version is not None and version < IPADOS_SINCE:
            sql = f"CASE WHEN {sql} = 'iPadOS' THEN 'iOS' ELSE {sql} END"
        pairs.append(f"'{name}', {sql}")
    return f"jsonb_strip_nulls(jsonb_build_object({', '.join(pairs)}))"


def gated_snapshot(column: str, version: int) -> str:
    """A jsonb expression: a stored (ungated) event snapshot as protocol `version` carries it."""
    dropped = sorted(name for name, since in SINCE_VERSION.items() if since > version)
    sql = column
    if dropped:
        sql = f"({sql} - '{{{','.join(dropped)}}}'::text[])"
    if version < IPADOS_SINCE and SINCE_VERSION["os"] <= version:
        sql = (
            f"CASE WHEN {sql} ->> 'os' = 'iPadOS' THEN jsonb_set({sql}, '{{os}}', '\"iOS\"') ELSE {sql} END"
        )
    return sql


def time_text(column: str) -> str:
    """A text expression: a timestamptz column in Apple's form (app.clock.service.isoformat)."""
    return _TIME.format(col=column)
