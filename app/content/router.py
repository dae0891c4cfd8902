"""Control API: the org's apps (licences) and packages (abm-api-2.md §5 item 2)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ..core.db import DbSession
from ..core.openapi import control_errors
from ..orgs import service as orgs_service
from . import service
from .schemas import AppIn, AppOut, CatalogueIn, CatalogueOut, PackageIn, PackageOut

router = APIRouter(tags=["content"])


@router.post(
    "/orgs/{org_id}/apps",
    status_code=status.HTTP_201_CREATED,
    response_model=AppOut,
    responses=control_errors(409),
)
async def add_app(org_id: str, body: AppIn, db: DbSession) -> AppOut:
    """Add an app the org holds licences for (by App Store adam id)."""
    org = await orgs_service.get_org(db, org_id=org_id)
    app = await service.add_app(db, org=org, data=body)
    return AppOut(id=app.adam_id, name=app.name, license_count=app.license_count)


@router.post("/orgs/{org_id}/packages", status_code=status.HTTP_201_CREATED, response_model=PackageOut)
async def add_package(org_id: str, body: PackageIn, db: DbSession) -> PackageOut:
    """Add a custom package, as an upload in the portal would."""
    org = await orgs_service.get_org(db, org_id=org_id)
    package = await service.add_package(db, org=org, data=body)
    return PackageOut(id=package.id, name=package.name)


@router.post("/orgs/{org_id}/catalogue", response_model=CatalogueOut)
async def add_catalogue(org_id: str, body: CatalogueIn, db: DbSession) -> CatalogueOut:
    """Add a realistic catalogue: well-known App Store apps with licence counts, and packages."""
    org = await orgs_service.get_org(db, org_id=org_id)
    apps, packages = await service.add_catalogue(db, org=org, data=body)
    return CatalogueOut(apps=apps, packages=packages)
