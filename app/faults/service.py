"""Fault scripts: depsim-style ordered responses per endpoint, each unit fired exactly once.

A script targets `"METHOD /path"` (and optionally one MDM server: only requests
authenticated as that server match). On the Business API (`/v1`) the path may name an operation
by its template, `{id}` standing for the id segment (`GET /v1/blueprints/{id}/relationships/apps`,
dep_emulator.traffic.abm.path_template); a 429 there is answered in Apple's JSON:API envelope.
Each matching request consumes one unit of the script's current entry, atomically, in the same
statement that reads it (`consume_sql`): `SELECT ... FOR UPDATE` on the first live matching
script, then `UPDATE ... RETURNING` its position. Concurrent replicas queue on that row for the length of one
statement, so every unit fires once and in order. With several live scripts for one
endpoint the oldest goes first.

Two layers apply the entries:
- the traffic middleware (dep_emulator.traffic.middleware) answers `error`, `status`, `delay_ms`,
  `drop_connection` and `pass` entries before the endpoint runs; it only consumes a script
  whose current entry is one of those;
- endpoints apply the two kinds that change a successful body, by calling the hooks below
  with the request's database session (the unit is consumed in the request's transaction,
  so a request that fails before answering does not use it up):

  `await device_status_override(db, endpoint="PUT /profile/devices", server=server)` →
  `DeviceStatusFault(status="FAILED"|"THROTTLED", retry_after_seconds=int|None)` or None.
  The profile-assignment endpoint calls it once per request and, when it returns a fault,
  answers that status for every serial it would have answered `SUCCESS` (THROTTLED only at
  protocol ≥ 9, `retry_after_seconds` at ≥ 10; below 9 THROTTLED reads as FAILED, §2).

  `await cursor_echo_fault(db, endpoint="POST /devices/sync", server=server)` → True when
  this page must echo the request's cursor with `more_to_follow: true` and no devices (the
  Apple bug of micromdm#1016 / nanodep#73, spec §8.4). The sync endpoint calls it once per
  request with a valid sync cursor.

  A consumed unit is noted in the session (`db.info`); once the request commits, `get_db`
  hands it to the request state and the traffic middleware journals it like a transport
  fault (`fault_id`, `fault`: "echo_cursor", "device_status THROTTLED").

  A hook only consumes a script whose current entry is its own kind, so a script like
  `[{"count": 2, "echo_cursor": true}, {"count": 1, "error": "EXPIRED_CURSOR"}]` plays out in
  order across both layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.db import ENDPOINT_FAULT, cached_text
from ..core.errors import not_found
from ..orgs.models import MdmServer
from .models import FaultScript
from .schemas import ENDPOINT_KINDS, FaultScriptIn, FaultScriptOut, FaultStepOut


def consume_sql(*, server_expr: str, kind: str | None, templated: bool = False) -> str:
    """CTEs `fault_target` and `fault_fired` consuming one unit; `fired` returns (fault_id, response).

    `server_expr` is an SQL expression for the requesting server's id (NULL: unknown);
    `kind` None means "any transport kind" (the middleware), else the hook's own kind.
    Binds :f_method and :f_path (and :f_kind); `templated` (the Business API's /v1 paths): also
    scripts of the path's template, bound as :f_template (e.g. `/v1/blueprints/{id}`).
    """
    return f"""
    fault_target AS (
        SELECT f.id, f.step, f.used, f.responses -> f.step AS response,
               coalesce((f.responses -> f.step ->> 'count')::int, 1) AS step_count
        FROM fault_script f
        WHERE {_step_due(server_expr=server_expr, kind=kind, templated=templated)}
          AND (f.probability IS NULL OR random() < f.probability)
        ORDER BY f.id LIMIT 1
        FOR UPDATE
    ),
    fault_fired AS (
        UPDATE fault_script f SET
            used = CASE WHEN t.used + 1 >= t.step_count THEN 0 ELSE t.used + 1 END,
            step = CASE WHEN t.used + 1 < t.step_count THEN t.step
                        WHEN f.probability IS NULL THEN t.step + 1
                        ELSE (t.step + 1) % jsonb_array_length(f.responses) END,
            fired = f.fired + 1,
            last_fired_at = now()
        FROM fault_target t WHERE f.id = t.id
        RETURNING f.id AS fault_id, t.response AS fault_response
    )"""


def pending_sql(*, server_expr: str, kind: str) -> str:
    """A boolean: a script has a unit of the hook's `kind` due now for this endpoint and server
    (what `consume_sql` would consume, probability aside), without consuming it. Binds :f_method,
    :f_path and :f_kind."""
    return f"EXISTS (SELECT FROM fault_script f WHERE {_step_due(server_expr=server_expr, kind=kind)})"


def _step_due(*, server_expr: str, kind: str | None, templated: bool = False) -> str:
    """Scripts of `f` (fault_script) whose current step is for this endpoint and server, and of
    any transport kind (`kind` None: the middleware) or of the hook's own (bound as :f_kind)."""
    if kind is None:
        kind_pred = "NOT jsonb_exists_any(f.responses -> f.step, array['echo_cursor', 'device_status'])"
    else:
        kind_pred = "jsonb_exists(f.responses -> f.step, :f_kind)"
    path_pred = "f.path IN (:f_path, :f_template)" if templated else "f.path = :f_path"
    return f"""{path_pred} AND f.method IN (:f_method, '*')
          AND f.step < jsonb_array_length(f.responses)
          AND (f.server_id IS NULL OR f.server_id = ({server_expr}))
          AND {kind_pred}"""


def split_endpoint(endpoint: str) -> tuple[str, str]:
    method, _, path = endpoint.partition(" ")
    return method, path


@dataclass(frozen=True, slots=True)
class DeviceStatusFault:
    status: str  # "FAILED" | "THROTTLED"
    retry_after_seconds: int | None


async def _consume_endpoint_kind(
    db: AsyncSession, *, endpoint: str, server: MdmServer | None, kind: str
) -> tuple[int, dict[str, Any]] | None:
    """(fault id, entry) of the unit consumed, or None."""
    assert kind in ENDPOINT_KINDS
    method, path = split_endpoint(endpoint)
    sql = (
        "WITH "
        + consume_sql(server_expr=":f_server", kind=kind)
        + " SELECT fault_id, fault_response FROM fault_fired"
    )
    row = (
        await db.execute(
            cached_text(sql),
            {"f_method": method, "f_path": path, "f_kind": kind, "f_server": server.id if server else None},
        )
    ).one_or_none()
    if row is None:
        return None
    fault_id, response = int(row[0]), row[1]
    note_endpoint_fault(db, fault_id, kind if kind == "echo_cursor" else f"{kind} {response.get(kind)}")
    return fault_id, response


def note_endpoint_fault(db: AsyncSession, fault_id: int, label: str) -> None:
    """Journal the unit an endpoint consumed, once the request commits (dep_emulator.core.db)."""
    db.info[ENDPOINT_FAULT] = (int(fault_id), label)


async def device_status_override(
    db: AsyncSession, *, endpoint: str, server: MdmServer | None
) -> DeviceStatusFault | None:
    """The scripted per-device outcome for this request, if the script's next entry is one."""
    fired = await _consume_endpoint_kind(db, endpoint=endpoint, server=server, kind="device_status")
    if fired is None:
        return None
    _, response = fired
    return DeviceStatusFault(
        status=response["device_status"], retry_after_seconds=response.get("retry_after_seconds")
    )


# --- control API ------------------------------------------------------------------------


async def create_script(db: AsyncSession, *, data: FaultScriptIn) -> FaultScript:
    server_id = None
    if data.server_uuid is not None:
        server = await db.scalar(select(MdmServer).where(MdmServer.server_uuid == data.server_uuid.upper()))
        if server is None:
            raise not_found("mdm server", data.server_uuid)
        server_id = server.id
    method, path = split_endpoint(data.endpoint)
    script = FaultScript(
        method=method,
        path=path,
        server_id=server_id,
        responses=[r.stored() for r in data.responses],
        probability=data.probability,
        step=0,
        used=0,
        fired=0,
        created_at=await clock.now(db),
    )
    db.add(script)
    await db.flush()
    return script


async def list_scripts(db: AsyncSession) -> list[FaultScript]:
    return list((await db.execute(select(FaultScript).order_by(FaultScript.id))).scalars())


async def get_script(db: AsyncSession, *, fault_id: str) -> FaultScript:
    script = await db.get(FaultScript, int(fault_id)) if fault_id.isdigit() and len(fault_id) < 19 else None
    if script is None:
        raise not_found("fault", fault_id)
    return script


async def delete_script(db: AsyncSession, *, fault_id: str) -> None:
    await db.delete(await get_script(db, fault_id=fault_id))
    await db.flush()


async def clear_scripts(db: AsyncSession) -> int:
    count = await db.scalar(select(func.count()).select_from(FaultScript)) or 0
    await db.execute(delete(FaultScript))
    return int(count)


async def script_out(db: AsyncSession, script: FaultScript) -> FaultScriptOut:
    """A script with what is left of each entry (read after any concurrent consumption)."""
    await db.refresh(script)
    server_uuid = None
    if script.server_id is not None:
        server_uuid = await db.scalar(select(MdmServer.server_uuid).where(MdmServer.id == script.server_id))
    steps: list[FaultStepOut] = []
    for index, response in enumerate(script.responses):
        count = int(response.get("count", 1))
        if script.probability is not None:
            left = count
        elif index < script.step:
            left = 0
        elif index == script.step:
            left = count - script.used
        else:
            left = count
        steps.append(FaultStepOut(response=response, remaining=left))
    exhausted = script.probability is None and script.step >= len(script.responses)
    return FaultScriptOut(
        id=str(script.id),
        endpoint=f"{script.method} {script.path}",
        server_uuid=server_uuid,
        probability=script.probability,
        responses=script.responses,
        steps=steps,
        remaining=None if script.probability is not None else sum(s.remaining for s in steps),
        fired=script.fired,
        exhausted=exhausted,
        created_at=script.created_at,
        last_fired_at=script.last_fired_at,
    )
