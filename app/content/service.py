"""The org's content catalogues: the only writer of apps and packages (abm-api-2.md §2.5).

Apple's API only reads them (apps are licences bought in Apps and Books, packages are uploaded in
the portal); the control API, the seed file and the generator add them here.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core.errors import ControlError
from ..orgs.models import Org
from .catalogue import APPS
from .models import OrgApp, OrgPackage
from .schemas import AppIn, CatalogueIn, PackageIn


async def add_app(db: AsyncSession, *, org: Org, data: AppIn) -> OrgApp:
    """An app with its licence count; 409 when the org already has that adam id."""
    if await db.get(OrgApp, (org.id, data.adam_id)) is not None:
        raise ControlError(409, "app_exists", f"the org already has app {data.adam_id}")
    app = OrgApp(
        org_id=org.id,
        adam_id=data.adam_id,
        name=data.name,
        bundle_id=data.bundle_id,
        website_url=data.website_url,
        app_store_url="" if data.is_custom_app else f"https://apps.apple.com/app/id{data.adam_id}",
        version=data.version,
        supported_os=list(dict.fromkeys(data.supported_os)),
        is_custom_app=data.is_custom_app,
        license_count=data.license_count,
    )
    db.add(app)
    await db.flush()
    return app


async def find_app(db: AsyncSession, *, org: Org, adam_id: str) -> OrgApp | None:
    return (
        await db.get(OrgApp, (org.id, adam_id))
        if adam_id.isascii() and adam_id.isdigit() and len(adam_id) <= 20
        else None
    )


async def app_count(db: AsyncSession, *, org: Org) -> int:
    return await db.scalar(select(func.count()).select_from(OrgApp).where(OrgApp.org_id == org.id)) or 0


async def add_package(db: AsyncSession, *, org: Org, data: PackageIn) -> OrgPackage:
    now = await clock.now(db)
    package_id = str(uuid.uuid4()).upper()
    name = data.name.replace(" ", "")
    package = OrgPackage(
        id=package_id,
        org_id=org.id,
        name=data.name,
        description=data.description,
        version=data.version,
        url=data.url or f"https://packages.business.apple.example/{package_id}/{name}-{data.version}.pkg",
        # Apple's example digest is 32 hex characters (algorithm unverified): MD5 of the id here.
        hash=hashlib.md5(package_id.encode(), usedforsecurity=False).hexdigest(),
        bundle_ids=list(data.bundle_ids),
        created_at=now,
        updated_at=now,
    )
    db.add(package)
    await db.flush()
    return package


async def find_package(db: AsyncSession, *, org: Org, name: str) -> OrgPackage | None:
    return await db.scalar(
        select(OrgPackage).where(OrgPackage.org_id == org.id, OrgPackage.name == name).limit(1)
    )


async def add_catalogue(db: AsyncSession, *, org: Org, data: CatalogueIn) -> tuple[int, int]:
    """(apps, packages) added: the first `apps` well-known apps the org lacks, and packages."""
    have = set(await db.scalars(select(OrgApp.adam_id).where(OrgApp.org_id == org.id)))
    apps = 0
    for adam_id, name, bundle_id, platforms in APPS:
        if apps >= data.apps:
            break
        if adam_id in have:
            continue
        await add_app(
            db,
            org=org,
            data=AppIn(
                adam_id=adam_id,
                name=name,
                bundle_id=bundle_id,
                supported_os=list(platforms),
                license_count=data.license_count,
            ),
        )
        apps += 1
    for i in range(data.packages):
        await add_package(
            db,
            org=org,
            data=PackageIn(
                name=f"Company Tools {i + 1}",
                description="Internal tools installer",
                version=f"{1 + i % 4}.{i % 10}",
                bundle_ids=[f"com.example.tools{i + 1}"],
            ),
        )
    return apps, data.packages
