"""Control API: an org's assignment-throttle rule and the devices currently in cooldown (spec §12)."""

from __future__ import annotations

from fastapi import APIRouter

from ..core.db import DbSession
from ..orgs import service as orgs_service
from . import throttle
from .schemas import AssignmentCooldownList, AssignmentThrottle

router = APIRouter(tags=["profiles"])


@router.get("/orgs/{org_id}/assignment-throttle", response_model=AssignmentThrottle)
async def get_throttle(org_id: str, db: DbSession) -> AssignmentThrottle:
    """The org's throttle rule (`max_assigns: null`: no throttling)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return await throttle.rule(db, org_id=org.id)


@router.put("/orgs/{org_id}/assignment-throttle", response_model=AssignmentThrottle)
async def set_throttle(org_id: str, body: AssignmentThrottle, db: DbSession) -> AssignmentThrottle:
    """Replace the rule (scenario 12). Turning it off (`max_assigns: null`) also ends current cooldowns."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return await throttle.set_rule(db, org_id=org.id, new_rule=body)


@router.get("/orgs/{org_id}/assignment-cooldowns", response_model=AssignmentCooldownList)
async def list_cooldowns(org_id: str, db: DbSession) -> AssignmentCooldownList:
    """Devices of the org whose cooldown has not ended yet on the emulator clock."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return await throttle.active_cooldowns(db, org_id=org.id)
