"""Configurations (abm-api-2.md §2.6, §3.4): the only writer. Only `CUSTOM_SETTING` ones can be
created, updated or deleted through the API; the 22 other kinds are made in the portal (here: the
control API) and are read-only. Each write leaves a CONFIG_SETTINGS_* audit event.

Choices on *unverified* points: a write on another kind is 409 ENTITY_ERROR.ATTRIBUTE.INVALID at
`/data/attributes/type`; deleting a configuration takes it out of every Blueprint (the Blueprint
keeps its other content even if none is left: Apple's both-sides rule is documented for writes
to the Blueprint only).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..orgs.models import Org
from . import audit, profiles
from .errors import ATTRIBUTE_INVALID, conflict, not_found, unprocessable
from .models import BlueprintMember, Configuration

TYPE = "configurations"
CUSTOM = "CUSTOM_SETTING"
CONFIGURATION_TYPES = (
    "AIR_DROP", "AIR_PRINT", "APP_ACCESS", "APPLE_INTELLIGENCE_SIRI", "APPLICATION_LAYER_FIREWALL",
    "AUTHENTICATION_SCREEN_LOCK", "CERTIFICATE", "CONFERENCE_ROOM_DISPLAY", "CONTENT_CACHING",
    "CUSTOM_PROFILE", "CUSTOM_SETTING", "DATA_MANAGEMENT", "ENERGY_SAVER", "FILE_VAULT", "GATE_KEEPER",
    "ICLOUD", "LOGIN_WINDOW", "MEDIA_MANAGEMENT", "SOFTWARE_UPDATE", "VPN", "WEB_CLIP", "WEB_FILTER", "WIFI",
)  # fmt: skip
WRITABLE = {"type", "name", "configuredForPlatforms", "customSettingsValues"}


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise unprocessable("/data", "The request body must be a JSON object with a 'data' object")
    if data.get("type") != TYPE:
        raise unprocessable("/data/type", f"'data.type' must be '{TYPE}'")
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise unprocessable("/data/attributes", "'data.attributes' must be an object")
    for name in attributes:
        if name not in WRITABLE:
            raise unprocessable(f"/data/attributes/{name}", f"'{name}' cannot be set")
    return data


def _name(attributes: dict[str, Any]) -> str:
    name = attributes.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or "\x00" in name:
        raise conflict(
            ATTRIBUTE_INVALID, "'name' must be a string of 1 to 200 characters", "/data/attributes/name"
        )
    return name.strip()


def _platforms(value: Any) -> set[str]:
    if not isinstance(value, list) or not value or any(p not in profiles.PLATFORMS for p in value):
        raise conflict(
            ATTRIBUTE_INVALID,
            f"'configuredForPlatforms' must be a non-empty list of {', '.join(profiles.PLATFORMS)}",
            "/data/attributes/configuredForPlatforms",
        )
    return set(value)


def _settings(attributes: dict[str, Any], *, creating: bool) -> tuple[str | None, str | None]:
    """(configurationProfile, filename) from customSettingsValues; the profile is required on create."""
    values = attributes.get("customSettingsValues", {} if not creating else None)
    pointer = "/data/attributes/customSettingsValues"
    if not isinstance(values, dict):
        raise conflict(ATTRIBUTE_INVALID, "'customSettingsValues' must be an object", pointer)
    profile, filename = values.get("configurationProfile"), values.get("filename")
    if (creating or profile is not None) and not isinstance(profile, str):
        raise conflict(
            ATTRIBUTE_INVALID,
            "'configurationProfile' is required (plist XML text)",
            f"{pointer}/configurationProfile",
        )
    if filename is not None and (
        not isinstance(filename, str)
        or not filename.endswith(".mobileconfig")
        or len(filename) > 250
        or "\x00" in filename
    ):
        raise conflict(ATTRIBUTE_INVALID, "'filename' must end in '.mobileconfig'", f"{pointer}/filename")
    return profile, filename


def _check(profile: str, platforms: set[str] | None) -> list[str]:
    """The platforms to store: as given (each must suit the profile) or derived from the payloads."""
    fits = profiles.supported(profiles.payload_types(profile))
    chosen = platforms if platforms is not None else set(fits)
    if not chosen or not chosen <= fits:
        raise conflict(
            ATTRIBUTE_INVALID,
            "The profile's payloads do not suit "
            + (", ".join(profiles.ordered(chosen - fits)) if chosen else "any single platform"),
            "/data/attributes/configuredForPlatforms",
        )
    return profiles.ordered(chosen)


async def get(db: AsyncSession, *, org: Org, config_id: str) -> Configuration:
    config = None
    if 0 < len(config_id) <= 36 and "\x00" not in config_id:
        config = await db.scalar(
            select(Configuration).where(Configuration.org_id == org.id, Configuration.id == config_id)
        )
    if config is None:
        raise not_found(TYPE, config_id)
    return config


def _custom_only(config_type: Any) -> None:
    if config_type != CUSTOM:
        raise conflict(
            ATTRIBUTE_INVALID,
            f"Only {CUSTOM} configurations can be written through the API",
            "/data/attributes/type",
        )


async def create(db: AsyncSession, *, org: Org, body: Any, actor: str | None) -> Configuration:
    """`POST /v1/configurations` (→ 201)."""
    attributes = _data(body)["attributes"]
    _custom_only(attributes.get("type"))
    name = _name(attributes)
    profile, filename = _settings(attributes, creating=True)
    assert profile is not None
    given = (
        _platforms(attributes["configuredForPlatforms"]) if "configuredForPlatforms" in attributes else None
    )
    platforms = _check(profile, given)
    now = await clock.now(db)
    config_id = str(uuid.uuid4()).upper()
    config = Configuration(
        id=config_id, org_id=org.id, config_type=CUSTOM, name=name, platforms=platforms, profile=profile,
        filename=filename or f"{config_id}.mobileconfig", version=1, created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(config)
    await db.flush()
    await _audit(db, org=org, config=config, event_type=audit.CONFIG_CREATED, actor=actor)
    return config


async def update(
    db: AsyncSession, *, org: Org, config_id: str, body: Any, actor: str | None
) -> Configuration:
    """`PATCH /v1/configurations/{id}`: omitted fields keep their values; a new profile or platform set
    is checked against the other."""
    config = await get(db, org=org, config_id=config_id)
    data = _data(body)
    if data.get("id") not in (None, config.id, config_id):
        raise conflict(ATTRIBUTE_INVALID, "'data.id' does not match the URL", "/data/id")
    attributes = data["attributes"]
    _custom_only(config.config_type)
    if "type" in attributes:
        _custom_only(attributes["type"])
    profile, filename = _settings(attributes, creating=False)
    if not (
        {"name", "configuredForPlatforms"} & set(attributes) or profile is not None or filename is not None
    ):
        raise conflict(
            ATTRIBUTE_INVALID,
            "Give at least one of name, configuredForPlatforms, configurationProfile, filename",
            "/data/attributes",
        )
    if "name" in attributes:
        config.name = _name(attributes)
    given = (
        _platforms(attributes["configuredForPlatforms"]) if "configuredForPlatforms" in attributes else None
    )
    if profile is not None or given is not None:
        config.platforms = _check(profile or config.profile or "", given or set(config.platforms))
    if profile is not None:
        config.profile = profile
    if filename is not None:
        config.filename = filename
    config.version += 1
    config.updated_at = await clock.now(db)
    await db.flush()
    await _audit(db, org=org, config=config, event_type=audit.CONFIG_UPDATED, actor=actor)
    return config


async def remove(db: AsyncSession, *, org: Org, config_id: str, actor: str | None) -> None:
    """`DELETE /v1/configurations/{id}` (→ 204); it leaves every Blueprint that had it."""
    config = await get(db, org=org, config_id=config_id)
    _custom_only(config.config_type)
    await db.execute(
        delete(BlueprintMember).where(BlueprintMember.kind == TYPE, BlueprintMember.member_id == config.id)
    )
    await _audit(db, org=org, config=config, event_type=audit.CONFIG_DELETED, actor=actor)
    await db.delete(config)
    await db.flush()


async def add_portal_configuration(
    db: AsyncSession, *, org: Org, config_type: str, name: str, platforms: list[str]
) -> Configuration:
    """A configuration made in the portal (any kind but CUSTOM_SETTING needs no profile): control API."""
    now = await clock.now(db)
    config = Configuration(
        id=str(uuid.uuid4()).upper(), org_id=org.id, config_type=config_type, name=name,
        platforms=profiles.ordered(set(platforms)), profile=None, filename=None, version=1,
        created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(config)
    await db.flush()
    return config


async def _audit(
    db: AsyncSession, *, org: Org, config: Configuration, event_type: str, actor: str | None
) -> None:
    payload = {"configType": config.config_type, "configId": config.id, "configVersion": str(config.version)}
    await audit.write(
        db,
        org=org,
        event_type=event_type,
        actor=actor,
        subject_id=config.id,
        subject_name=config.name,
        payload=payload,
    )
