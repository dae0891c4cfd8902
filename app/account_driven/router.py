"""`/account-driven-enrollment/profile` GET, POST, DELETE (spec §6.13)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..core import dep_body
from ..core.db import DbSession
from ..core.openapi import dep_errors, json_request
from ..session.dependencies import CurrentServer
from . import service
from .schemas import AccountDrivenEnrollmentProfile, EmptyObject

router = APIRouter(tags=["dep"])
PATH = "/account-driven-enrollment/profile"


ADE_BODY = {
    "type": "object",
    "required": ["mdm_service_discovery_url"],
    "properties": {"mdm_service_discovery_url": {"type": "string"}},
}


@router.post(
    PATH,
    response_model=None,
    responses={
        **dep_errors(
            "ORG_NOT_SUPPORTED", "MDM_SERVICE_DISCOVERY_URL_REQUIRED", "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"
        ),
        200: {"model": AccountDrivenEnrollmentProfile},
    },
    openapi_extra=json_request(ADE_BODY, required=True),
)
async def set_profile(request: Request, server: CurrentServer, db: DbSession) -> dict[str, Any]:
    """Assign the service-discovery URL (https only); answers the stored object."""
    body = await dep_body.json_object(request, required=True)
    return await service.set_profile(db, server=server, raw=body)


@router.get(
    PATH,
    response_model=None,
    responses={
        **dep_errors("ORG_NOT_SUPPORTED", body=False, not_found=("NOT_FOUND",)),
        200: {"model": AccountDrivenEnrollmentProfile},
    },
)
async def get_profile(server: CurrentServer, db: DbSession) -> dict[str, Any]:
    """The URL and when it was set; 404 NOT_FOUND when none is set."""
    return await service.get_profile(db, server=server)


@router.delete(
    PATH,
    response_model=None,
    responses={**dep_errors("ORG_NOT_SUPPORTED", body=False), 200: {"model": EmptyObject}},
)
async def delete_profile(server: CurrentServer, db: DbSession) -> dict[str, Any]:
    """Remove the URL; `{}` whether or not one was set."""
    return await service.delete_profile(db, server=server)
