"""apps, packages and configurations (abm-api-2.md §2.5–§2.6): Apple's views of the content
catalogues (dep_emulator.content) and of the Configurations the blueprints service stores.

Keyset pages over each table's (org_id, id) key; no totals (as on the people lists). A
configuration has no `relationships` member (§2.6: strict clients would fail on one), and its
`customSettingsValues` only appears on the single GET of a CUSTOM_SETTING one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..blueprints import configurations
from ..blueprints.models import Configuration
from ..clock.service import isoformat
from ..content.models import OrgApp, OrgPackage
from ..orgs.models import Org
from .jsonapi import Links, PageRequest, cut_page, list_document, not_found, sparse

APPS, PACKAGES, CONFIGURATIONS = "apps", "packages", "configurations"
APP_FIELDS = ("name", "bundleId", "websiteUrl", "appStoreUrl", "version", "supportedOS", "isCustomApp")
PACKAGE_FIELDS = (
    "name",
    "description",
    "url",
    "hash",
    "bundleIds",
    "version",
    "createdDateTime",
    "updatedDateTime",
)
CONFIGURATION_FIELDS = (
    "type", "name", "configuredForPlatforms", "customSettingsValues", "createdDateTime", "updatedDateTime",
)  # fmt: skip

APPS_PAGE_SQL = text(
    "SELECT * FROM org_app WHERE org_id = :org AND adam_id > :after ORDER BY org_id, adam_id LIMIT :n"
)
PACKAGES_PAGE_SQL = text(
    "SELECT * FROM org_package WHERE org_id = :org AND id > :after ORDER BY org_id, id LIMIT :n"
)
CONFIGURATIONS_PAGE_SQL = text(
    "SELECT * FROM configuration WHERE org_id = :org AND id > :after ORDER BY org_id, id LIMIT :n"
)


def render_app(app: OrgApp, *, links: Links, fields: frozenset[str] | None) -> dict[str, Any]:
    attributes = {
        "name": app.name,
        "bundleId": app.bundle_id,
        "websiteUrl": app.website_url,
        "appStoreUrl": app.app_store_url,
        "version": app.version,
        "supportedOS": list(app.supported_os),
        "isCustomApp": app.is_custom_app,
    }
    return {
        "type": APPS,
        "id": app.adam_id,
        "attributes": sparse(attributes, fields),
        "links": {"self": links.url(f"/v1/apps/{app.adam_id}")},
    }


def render_package(package: OrgPackage, *, links: Links, fields: frozenset[str] | None) -> dict[str, Any]:
    attributes = {
        "name": package.name,
        "description": package.description,
        "url": package.url,
        "hash": package.hash,
        "bundleIds": list(package.bundle_ids),
        "version": package.version,
        "createdDateTime": isoformat(package.created_at),
        "updatedDateTime": isoformat(package.updated_at),
    }
    return {
        "type": PACKAGES,
        "id": package.id,
        "attributes": sparse(attributes, fields),
        "links": {"self": links.url(f"/v1/packages/{package.id}")},
    }


def render_configuration(
    config: Configuration, *, links: Links, fields: frozenset[str] | None, single: bool
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "type": config.config_type,  # ConfigurationType, not the resource type
        "name": config.name,
        "configuredForPlatforms": list(config.platforms),
    }
    if single and config.config_type == configurations.CUSTOM:
        attributes["customSettingsValues"] = {
            "configurationProfile": config.profile or "",
            "filename": config.filename or "",
        }
    attributes |= {
        "createdDateTime": isoformat(config.created_at),
        "updatedDateTime": isoformat(config.updated_at),
    }
    return {
        "type": CONFIGURATIONS,
        "id": config.id,
        "attributes": sparse(attributes, fields),
        "links": {"self": links.url(f"/v1/configurations/{config.id}")},
    }


async def list_apps(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    params = {"org": org.id, "after": page.after or "", "n": page.fetch}
    apps, next_key = cut_page(
        list(await db.scalars(select(OrgApp).from_statement(APPS_PAGE_SQL), params)),
        page.limit,
        lambda a: a.adam_id,
    )
    data = [render_app(a, links=links, fields=fields) for a in apps]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


async def one_app(
    db: AsyncSession, *, org: Org, app_id: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    app = (
        await db.get(OrgApp, (org.id, app_id))
        if app_id.isascii() and app_id.isdigit() and len(app_id) <= 20
        else None
    )
    if app is None:
        raise not_found(APPS, app_id)
    return {"data": render_app(app, links=links, fields=fields), "links": {"self": links.self_url}}


async def list_packages(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    params = {"org": org.id, "after": page.after or "", "n": page.fetch}
    packages, next_key = cut_page(
        list(await db.scalars(select(OrgPackage).from_statement(PACKAGES_PAGE_SQL), params)),
        page.limit,
        lambda p: p.id,
    )
    data = [render_package(p, links=links, fields=fields) for p in packages]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


async def one_package(
    db: AsyncSession, *, org: Org, package_id: str, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    package = None
    if 0 < len(package_id) <= 36 and "\x00" not in package_id:
        package = await db.scalar(
            select(OrgPackage).where(OrgPackage.org_id == org.id, OrgPackage.id == package_id)
        )
    if package is None:
        raise not_found(PACKAGES, package_id)
    return {"data": render_package(package, links=links, fields=fields), "links": {"self": links.self_url}}


async def list_configurations(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    params = {"org": org.id, "after": page.after or "", "n": page.fetch}
    configs, next_key = cut_page(
        list(await db.scalars(select(Configuration).from_statement(CONFIGURATIONS_PAGE_SQL), params)),
        page.limit,
        lambda c: c.id,
    )
    data = [render_configuration(c, links=links, fields=fields, single=False) for c in configs]
    return list_document(data, links=links, page=page, next_key=next_key, total=None)


def configuration_document(
    config: Configuration, *, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    data = render_configuration(config, links=links, fields=fields, single=True)
    return {"data": data, "links": {"self": data["links"]["self"]}}
