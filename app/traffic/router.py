"""Control API: an org's traffic rules, and a server's traffic report (spec §12)."""

from __future__ import annotations

from fastapi import APIRouter

from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..orgs import service as orgs_service
from . import service
from .schemas import TrafficReport, TrafficRulesIn, TrafficRulesOut

router = APIRouter(tags=["traffic"])


@router.get("/orgs/{org_id}/traffic-rules", response_model=TrafficRulesOut)
async def get_traffic_rules(org_id: str, db: DbSession, settings: SettingsDep) -> TrafficRulesOut:
    """The org's preset, overrides and the effective rules the middleware enforces."""
    return service.rules_out(await orgs_service.get_org(db, org_id=org_id), settings)


@router.put("/orgs/{org_id}/traffic-rules", response_model=TrafficRulesOut)
async def put_traffic_rules(
    org_id: str, body: TrafficRulesIn, db: DbSession, settings: SettingsDep
) -> TrafficRulesOut:
    """Replace the org's rules; they apply from the next request, on every replica."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return await service.put_rules(db, org=org, data=body, settings=settings)


@router.get("/mdm-servers/{server_uuid}/traffic-report", response_model=TrafficReport)
async def get_traffic_report(server_uuid: str, db: DbSession, settings: SettingsDep) -> TrafficReport:
    """Which traffic rules this server's client broke, how often, when, and the requests involved."""
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    return await service.traffic_report(db, server=server, settings=settings)
