"""Control API: organisations, their terms, and their MDM servers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, status

from ..core.db import DbSession
from ..core.openapi import control_errors
from . import service
from . import settings as org_settings
from .models import MdmServer, Org
from .schemas import (
    MdmServerIn,
    MdmServerList,
    MdmServerOut,
    OrgIn,
    OrgList,
    OrgOut,
    TermsIn,
)

router = APIRouter(tags=["orgs"])


def org_out(org: Org) -> OrgOut:
    return OrgOut(
        id=str(org.id),
        name=org.name,
        email=org.email,
        phone=org.phone,
        address=org.address,
        org_type=org.org_type,
        org_version=org.org_version,
        org_id_hash=org.org_id_hash,
        terms_accepted=org.terms_accepted,
        created_at=org.created_at,
    )


async def server_out(db: DbSession, server: MdmServer) -> MdmServerOut:
    return MdmServerOut(
        server_uuid=server.server_uuid,
        server_name=server.server_name,
        org_id=str(server.org_id),
        admin_id=server.admin_id,
        consumer_key=server.consumer_key,
        has_certificate=server.certificate_pem is not None,
        token_issued=await service.token_issued(db, server=server),
        created_at=server.created_at,
    )


@router.post("/orgs", status_code=status.HTTP_201_CREATED, response_model=OrgOut)
async def create_org(body: OrgIn, db: DbSession) -> OrgOut:
    """Create an organisation (a customer of Apple Business/School Manager)."""
    return org_out(await service.create_org(db, data=body))


@router.get("/orgs", response_model=OrgList)
async def list_orgs(db: DbSession) -> OrgList:
    return OrgList(orgs=[org_out(org) for org in await service.list_orgs(db)])


@router.get("/orgs/{org_id}", response_model=OrgOut)
async def get_org(org_id: str, db: DbSession) -> OrgOut:
    return org_out(await service.get_org(db, org_id=org_id))


@router.put("/orgs/{org_id}/terms", response_model=OrgOut)
async def set_terms(org_id: str, body: TermsIn, db: DbSession) -> OrgOut:
    """Accept or withdraw the program terms (`/session` answers 403 T_C_NOT_SIGNED while withdrawn)."""
    org = await service.get_org(db, org_id=org_id)
    return org_out(await service.set_terms(db, org=org, accepted=body.accepted))


@router.post(
    "/orgs/{org_id}/mdm-servers",
    status_code=status.HTTP_201_CREATED,
    response_model=MdmServerOut,
    responses=control_errors(400, 409),  # invalid_certificate, duplicate_server_name
)
async def create_server(org_id: str, body: MdmServerIn, db: DbSession) -> MdmServerOut:
    """Add an MDM server to the org, optionally with its public key certificate."""
    org = await service.get_org(db, org_id=org_id)
    return await server_out(db, await service.create_server(db, org=org, data=body))


@router.get("/orgs/{org_id}/mdm-servers", response_model=MdmServerList)
async def list_servers(org_id: str, db: DbSession) -> MdmServerList:
    org = await service.get_org(db, org_id=org_id)
    return MdmServerList(
        mdm_servers=[await server_out(db, s) for s in await service.list_servers(db, org=org)]
    )


@router.get("/mdm-servers/{server_uuid}", response_model=MdmServerOut)
async def get_server(server_uuid: str, db: DbSession) -> MdmServerOut:
    return await server_out(db, await service.get_server(db, server_uuid=server_uuid))


@router.put(
    "/mdm-servers/{server_uuid}/certificate",
    response_model=MdmServerOut,
    responses=control_errors(400),  # invalid_certificate
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-pem-file": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {"type": "object", "properties": {"certificate_pem": {"type": "string"}}}
                },
            }
        }
    },
)
async def upload_certificate(server_uuid: str, request: Request, db: DbSession) -> MdmServerOut:
    """Upload or replace the public key certificate (a PEM body, or JSON `{"certificate_pem"}`)."""
    server = await service.get_server(db, server_uuid=server_uuid)
    pem = await _certificate_from_body(request)
    return await server_out(db, await service.set_certificate(db, server=server, certificate_pem=pem))


async def _certificate_from_body(request: Request) -> str:
    raw = (await request.body()).decode("utf-8", errors="replace").strip()
    if raw.startswith("{"):
        import json

        try:
            value = json.loads(raw).get("certificate_pem")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str):
            from ..core.errors import ControlError

            raise ControlError(
                422, "validation_error", 'expected a PEM body or JSON {"certificate_pem": "..."}'
            )
        return value
    return raw


_ = Body  # keep FastAPI's Body importable for OpenAPI tooling


@router.get("/orgs/{org_id}/settings")
async def get_org_settings(org_id: str, db: DbSession) -> dict[str, Any]:
    """The org's switches with their effective values (see dep_emulator.orgs.settings for each key)."""
    return org_settings.effective_settings(await service.get_org(db, org_id=org_id))


@router.patch("/orgs/{org_id}/settings")
async def patch_org_settings(org_id: str, body: dict[str, Any], db: DbSession) -> dict[str, Any]:
    """JSON merge-patch of the org's switches, e.g. `{"feed_style": "clean"}`; null resets a key."""
    org = await service.get_org(db, org_id=org_id)
    return await org_settings.patch_settings(db, org=org, patch=body)
