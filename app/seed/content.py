"""The seed file's `content` section of an org: apps (by adam id), packages (by name) and a
generated catalogue, through the content service; loading twice changes nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ..content import service as content
from ..content.schemas import ContentSeed
from ..orgs.models import Org
from .parse import Locator, PathKey


async def ensure_content(
    db: AsyncSession, org: Org, seed: ContentSeed, *, path: PathKey, locator: Locator
) -> int:
    """Apps and packages added by this section."""
    added = 0
    for i, app in enumerate(seed.apps):
        if await content.find_app(db, org=org, adam_id=app.adam_id) is None:
            with locator.at((*path, "apps", i)):
                await content.add_app(db, org=org, data=app)
            added += 1
    for i, package in enumerate(seed.packages):
        if await content.find_package(db, org=org, name=package.name) is None:
            with locator.at((*path, "packages", i)):
                await content.add_package(db, org=org, data=package)
            added += 1
    if seed.catalogue is not None and await content.app_count(db, org=org) == 0:
        with locator.at((*path, "catalogue")):
            apps, packages = await content.add_catalogue(db, org=org, data=seed.catalogue)
        added += apps + packages
    return added
