"""Observed behaviour F3 (issue 29): changes reach fetch and sync only `feed_delay_seconds` after
they were made (fleetdm/fleet#8741: "portal changes reach the sync feed minutes later").

The org setting `feed_delay_seconds` (dep_emulator.orgs.settings; 0: at once) holds back, on the
emulator clock, every event made less than that long ago, and with it every later event of the
same server, so the feed is released as a prefix in its own order and stays gap-free (an event
with an earlier `op_at` may carry a higher sequence number: its writer took the server's lock
later). Advancing the clock releases them; `op_date` and `fetched_until` stay the times of the
changes. These are SQL fragments of the page statements (dep_emulator.feed.read): one statement
per page still, and with the delay at 0 the extra branch is never run (a CASE around a subplan).
"""

from __future__ import annotations

# How far back from the end of a server's feed a new fetch looks for held-back events (its
# snapshot horizon is the event before the first one): a delay window holding more events than
# this releases the older ones to a new fetch early; sync is exact whatever the number.
FETCH_TAIL = 10_000


def _seconds(server: str) -> str:
    """The org's delay in seconds for the server `server` (an SQL expression), as one row `d.secs`."""
    return (
        "(SELECT COALESCE(CAST(o.settings ->> 'feed_delay_seconds' AS float8), 0) AS secs "
        f"FROM mdm_server m JOIN org o ON o.id = m.org_id WHERE m.id = {server}) d"
    )


def held_from_sql(*, server: str, now: str, after: str) -> str:
    """The sequence number of the server's first held-back event after position `after` (NULL: none
    held back). Scans from the position to that event only when a delay is set."""
    return f"""(SELECT CASE WHEN d.secs > 0 THEN (
        SELECT x.seq FROM device_event x
        WHERE x.server_id = {server} AND x.seq > {after}
          AND x.op_at > CAST({now} AS timestamptz) - make_interval(secs => d.secs)
        ORDER BY x.seq LIMIT 1) END
    FROM {_seconds(server)})"""


def released_until_sql(*, server: str, now: str, committed: str) -> str:
    """The server's last released sequence number for a new fetch's snapshot: `committed` (its feed
    sequence) without a delay, else the event before the first held back among the last FETCH_TAIL
    (an ordered index read from `committed - FETCH_TAIL`, stopped at the first one)."""
    return f"""(SELECT CASE WHEN d.secs > 0 THEN COALESCE((
        SELECT x.seq - 1 FROM device_event x
        WHERE x.server_id = {server} AND x.seq > {committed} - {FETCH_TAIL}
          AND x.op_at > CAST({now} AS timestamptz) - make_interval(secs => d.secs)
        ORDER BY x.seq LIMIT 1), {committed})
        ELSE {committed} END
    FROM {_seconds(server)})"""
