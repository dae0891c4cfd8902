"""Observed behaviour F4 (issue 29): some assigned devices never appear in sync.

fleetdm/fleet#49837 and #51696 (Apple feedback FB24445195): no `added`, no `modified`, no error;
only a full fetch shows the device. The org setting `lost_events` (dep_emulator.orgs.settings) is a
fault that withholds from sync every event of the serials it names, and of a share `probability` of
the devices (chosen by a hash of the serial, so the same devices stay lost); fetch and device
details still show them. Removing it (`null`) ends the fault; the events withheld meanwhile are
not sent then (the cursors went past them, as sync skips them for good), as with Apple, where only
a new fetch shows the device. SQL fragments of the sync page statement (dep_emulator.feed.read).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import text

from ..core import driver
from ..profiles.throttle import visible_in_sync_sql
from ..session.service import FeedCaller

# For the request journal (dep_emulator.traffic): the events a sync page withheld, as JSON text.
WITHHELD_STATE = "withheld_events"
WITHHELD_SHOWN = 100


def fault_sql(server: str) -> str:
    """One row `l` of the fault of the server's org: `lost_on`, `lost_serials`, `lost_p`."""
    return f"""(SELECT o.settings ? 'lost_events' AS lost_on,
        ARRAY(SELECT jsonb_array_elements_text(COALESCE(o.settings -> 'lost_events' -> 'serials', '[]')))
            AS lost_serials,
        COALESCE(CAST(o.settings -> 'lost_events' ->> 'probability' AS float8), 0) AS lost_p
    FROM mdm_server m JOIN org o ON o.id = m.org_id WHERE m.id = {server}) l"""


def hash_share_sql(serial: str) -> str:
    """A number in [0, 1) from the serial, the same every time (its MD5's first 32 bits)."""
    return f"(CAST(CAST('x' || substr(md5({serial}), 1, 8) AS bit(32)) AS int8) / 4294967296.0)"


def sent_sql(held: str) -> str:
    """The predicate over event `e`: not withheld by the fault read into `held`."""
    return (
        f"NOT ({held}.lost_on AND (e.serial_number = ANY({held}.lost_serials) OR "
        f"({held}.lost_p > 0 AND {hash_share_sql('e.serial_number')} < {held}.lost_p)))"
    )


def withheld_sql(visible: str) -> str:
    """The events of server :server after :after up to :until that the fault withholds (and only
    it: `visible` is sync's own filter), oldest first, at most WITHHELD_SHOWN."""
    return f"""
    SELECT e.seq, e.serial_number, e.op_type FROM device_event e CROSS JOIN {fault_sql(":server")}
    WHERE e.server_id = :server AND e.seq > :after AND e.seq <= :until AND {visible}
      AND NOT {sent_sql("l")}
    ORDER BY e.seq LIMIT {WITHHELD_SHOWN}"""


async def withheld(
    conn: asyncpg.Connection, page: Mapping[str, Any], *, caller: FeedCaller, after: int, until: int
) -> str | None:
    """What a sync page (its statement's row, with `lost_on`) of the caller's server that moved the
    cursor from `after` to `until` left out for the fault, as the journal keeps it: JSON text of
    [{"seq", "serial_number", "op_type"}]; None without the fault or for nothing left out."""
    if not page["lost_on"] or until <= after:
        return None
    rows = await driver.fetch(
        conn,
        text(withheld_sql(visible_in_sync_sql(":now"))),
        {"server": caller.server_id, "after": after, "until": until, "now": caller.now},
    )
    events = [{"seq": r["seq"], "serial_number": r["serial_number"], "op_type": r["op_type"]} for r in rows]
    return json.dumps(events) if events else None
