"""Control API: scheduled churn per org (scenario 9; depsim's device_insertions / device_deletions)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ..core.db import DbSession
from ..orgs import service as orgs_service
from . import service
from .schemas import ChurnDeleted, ChurnIn, ChurnList, ChurnOut, ChurnRun

router = APIRouter(tags=["churn"])


@router.post("/orgs/{org_id}/churn", status_code=status.HTTP_201_CREATED, response_model=ChurnOut)
async def create_churn(org_id: str, body: ChurnIn, db: DbSession) -> ChurnOut:
    """Insert or delete N devices every T seconds of the emulator clock, M times (409 on a name in use)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    server = None
    if body.server_uuid is not None:
        server = await orgs_service.get_server(db, server_uuid=body.server_uuid)
    return await service.schedule_out(
        db, await service.create_schedule(db, org=org, server=server, spec=body)
    )


@router.get("/orgs/{org_id}/churn", response_model=ChurnList)
async def list_churn(org_id: str, db: DbSession) -> ChurnList:
    """The org's schedules with their progress (events run, next run on the emulator clock)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return ChurnList(
        churn=[await service.schedule_out(db, s) for s in await service.list_schedules(db, org=org)]
    )


@router.delete("/orgs/{org_id}/churn", response_model=ChurnDeleted)
async def delete_org_churn(org_id: str, db: DbSession) -> ChurnDeleted:
    """Remove every schedule of the org (devices already churned stay as they are)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return ChurnDeleted(deleted=await service.delete_org_schedules(db, org=org))


@router.get("/churn/{churn_id}", response_model=ChurnOut)
async def get_churn(churn_id: str, db: DbSession) -> ChurnOut:
    return await service.schedule_out(db, await service.get_schedule(db, churn_id=churn_id))


@router.delete("/churn/{churn_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_churn(churn_id: str, db: DbSession) -> Response:
    await service.delete_schedule(db, schedule=await service.get_schedule(db, churn_id=churn_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/churn/{churn_id}/run", response_model=ChurnRun)
async def run_churn(churn_id: str, db: DbSession) -> ChurnRun:
    """Run one event now (counted; the schedule's next run is unchanged). 409 once all events ran."""
    schedule = await service.get_schedule(db, churn_id=churn_id, for_update=True)
    result = await service.run_event(db, schedule=schedule, scheduled=False, swallow_errors=False)
    return ChurnRun(
        schedule=await service.schedule_out(db, schedule), affected=result.affected, serials=result.serials
    )
