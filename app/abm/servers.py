"""mdmServers (abm-api.md §1.4–§1.5): the org's device-management services, which are the DEP
servers of the orgs domain seen through the portal API. Creation and renaming go through the
orgs service, so a server made here gets a DEP token from the control API like any other.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..builtin_mdm.models import BuiltinService
from ..clock import service as clock
from ..clock.service import isoformat
from ..core.errors import ControlError, JsonApiError
from ..devices import locking
from ..devices.models import Device
from ..orgs import service as orgs_service
from ..orgs.models import MdmServer, Org
from ..orgs.schemas import MdmServerIn
from ..session.models import AuthSession
from .jsonapi import Links, PageRequest, conflict, cut_page, list_document, not_found, sparse, unprocessable
from .models import ServerSetting

TYPE = "mdmServers"
PRODUCT_FAMILIES = ("APPLE_TV", "IPAD", "IPHONE", "IPOD", "MAC", "VISION", "WATCH")
ATTRIBUTES = (
    "serverName",
    "serverType",
    "createdDateTime",
    "updatedDateTime",
    "status",
    "deviceCount",
    "enableMdmDisownFlag",
    "defaultProductFamilies",
    "lastConnectedDateTime",
    "lastConnectedIp",
)
FIELDS = (*ATTRIBUTES, "devices")


def _time(value: datetime | None) -> str | None:
    return isoformat(value) if value is not None else None


async def _extras(
    db: AsyncSession, servers: Sequence[MdmServer]
) -> tuple[dict[int, int], dict[int, datetime], dict[int, ServerSetting]]:
    ids = [s.id for s in servers]
    counts = await db.execute(
        select(Device.server_id, func.count()).where(Device.server_id.in_(ids)).group_by(Device.server_id)
    )
    connected = await db.execute(
        select(AuthSession.server_id, func.max(AuthSession.created_at))
        .where(AuthSession.server_id.in_(ids))
        .group_by(AuthSession.server_id)
    )
    settings = await db.scalars(select(ServerSetting).where(ServerSetting.server_id.in_(ids)))
    return (
        {row[0]: row[1] for row in counts if row[0] is not None},
        {row[0]: row[1] for row in connected},
        {s.server_id: s for s in settings},
    )


async def render(
    db: AsyncSession, servers: Sequence[MdmServer], *, links: Links, fields: frozenset[str] | None
) -> list[dict[str, Any]]:
    """mdmServer resource objects, every documented attribute present (null when unknown)."""
    counts, connected, settings = await _extras(db, servers)
    builtin = set(
        await db.scalars(
            select(BuiltinService.server_id).where(BuiltinService.server_id.in_([s.id for s in servers]))
        )
    )
    resources = []
    for server in servers:
        setting = settings.get(server.id)
        attributes = {
            "serverName": server.server_name,
            "serverType": "APPLE_MDM" if server.id in builtin else "MDM",  # Apple's built-in service
            "createdDateTime": isoformat(server.created_at),
            "updatedDateTime": isoformat(setting.updated_at if setting else server.created_at),
            "status": "ACTIVE",
            "deviceCount": counts.get(server.id, 0),
            "enableMdmDisownFlag": setting.enable_mdm_disown_flag if setting else False,
            "defaultProductFamilies": list(setting.default_product_families) if setting else [],
            "lastConnectedDateTime": _time(connected.get(server.id)),
            "lastConnectedIp": None,
        }
        path = f"/v1/mdmServers/{server.server_uuid}"
        relationships = {"devices": {"links": {"self": links.url(f"{path}/relationships/devices")}}}
        resources.append(
            {
                "type": TYPE,
                "id": server.server_uuid,
                "attributes": sparse(attributes, fields),
                "relationships": sparse(relationships, fields),
                "links": {"self": links.url(path)},
            }
        )
    return resources


async def get_server(db: AsyncSession, *, org: Org, server_id: str) -> MdmServer:
    server = None
    if len(server_id) == 32 and all(c in "0123456789abcdefABCDEF" for c in server_id):
        server = await db.scalar(
            select(MdmServer).where(MdmServer.server_uuid == server_id.upper(), MdmServer.org_id == org.id)
        )
    if server is None:
        raise not_found(TYPE, server_id)
    return server


async def list_servers(
    db: AsyncSession, *, org: Org, page: PageRequest, links: Links, fields: frozenset[str] | None
) -> dict[str, Any]:
    query = select(MdmServer).where(MdmServer.org_id == org.id)
    if page.after is not None:
        query = query.where(MdmServer.server_uuid > page.after)
    servers, next_key = cut_page(
        list(await db.scalars(query.order_by(MdmServer.server_uuid).limit(page.fetch))),
        page.limit,
        lambda s: s.server_uuid,
    )
    total = await db.scalar(select(func.count()).select_from(MdmServer).where(MdmServer.org_id == org.id))
    data = await render(db, servers, links=links, fields=fields)
    return list_document(data, links=links, page=page, next_key=next_key, total=total)


async def device_linkages(
    db: AsyncSession, *, org: Org, server_id: str, page: PageRequest, links: Links
) -> dict[str, Any]:
    """`GET /v1/mdmServers/{id}/relationships/devices`: `{type: orgDevices, id: serial}` items."""
    server = await get_server(db, org=org, server_id=server_id)
    query = select(Device.serial_number).where(Device.server_id == server.id)
    if page.after is not None:
        query = query.where(Device.serial_number > page.after)
    serials, next_key = cut_page(
        list(await db.scalars(query.order_by(Device.serial_number).limit(page.fetch))), page.limit, str
    )
    total = await db.scalar(select(func.count()).select_from(Device).where(Device.server_id == server.id))
    data = [{"type": "orgDevices", "id": s} for s in serials]
    document = list_document(data, links=links, page=page, next_key=next_key, total=total)
    document["links"]["related"] = links.url(f"/v1/mdmServers/{server.server_uuid}")
    return document


# --- writes ---------------------------------------------------------------------------------


def _attributes(body: Any, *, creating: bool) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise unprocessable("/data", "The request body must be a JSON object with a 'data' object")
    if data.get("type") != TYPE:
        raise unprocessable("/data/type", f"'data.type' must be '{TYPE}'")
    attributes = data.get("attributes", {} if not creating else None)
    if not isinstance(attributes, dict):
        raise unprocessable("/data/attributes", "'data.attributes' must be an object")
    allowed = {"serverName", "enableMdmDisownFlag", "defaultProductFamilies"} | (
        {"serverCertificate"} if creating else set()
    )
    for name in attributes:
        if name not in allowed:
            raise unprocessable(f"/data/attributes/{name}", f"'{name}' cannot be set")
    name = attributes.get("serverName")
    if (creating or "serverName" in attributes) and (
        not isinstance(name, str) or not name.strip() or len(name) > 200
    ):
        raise unprocessable(
            "/data/attributes/serverName", "'serverName' must be a string of 1 to 200 characters"
        )
    if "enableMdmDisownFlag" in attributes and not isinstance(attributes["enableMdmDisownFlag"], bool):
        raise unprocessable("/data/attributes/enableMdmDisownFlag", "'enableMdmDisownFlag' must be a boolean")
    families = attributes.get("defaultProductFamilies", [])
    if not isinstance(families, list) or any(f not in PRODUCT_FAMILIES for f in families):
        raise unprocessable(
            "/data/attributes/defaultProductFamilies",
            f"'defaultProductFamilies' must be a list of {', '.join(PRODUCT_FAMILIES)}",
        )
    return attributes


def _certificate_pem(value: Any) -> str:
    """`serverCertificate {name, data}`: data is a base64 X.509 certificate (DER, or PEM text)."""
    pointer = "/data/attributes/serverCertificate"
    if not isinstance(value, dict) or not isinstance(value.get("data"), str):
        raise unprocessable(pointer, "'serverCertificate' must be an object with 'name' and base64 'data'")
    try:
        raw = base64.b64decode(value["data"], validate=False)
        if raw.lstrip().startswith(b"-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(raw.strip())
        else:
            certificate = x509.load_der_x509_certificate(raw)
    except (binascii.Error, ValueError) as exc:
        raise unprocessable(
            f"{pointer}/data", "'serverCertificate.data' is not a base64 X.509 certificate"
        ) from exc
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


async def _save_settings(db: AsyncSession, *, server: MdmServer, attributes: dict[str, Any]) -> None:
    setting = await db.get(ServerSetting, server.id)
    now = await clock.now(db)
    if setting is None:
        setting = ServerSetting(
            server_id=server.id, enable_mdm_disown_flag=False, default_product_families=[], updated_at=now
        )
        db.add(setting)
    if "enableMdmDisownFlag" in attributes:
        setting.enable_mdm_disown_flag = attributes["enableMdmDisownFlag"]
    if "defaultProductFamilies" in attributes:
        families = list(dict.fromkeys(attributes["defaultProductFamilies"]))
        # One default service per product family in an org: taking a family takes it from the others.
        others = await db.scalars(
            select(ServerSetting)
            .join(MdmServer, MdmServer.id == ServerSetting.server_id)
            .where(MdmServer.org_id == server.org_id, ServerSetting.server_id != server.id)
        )
        for other in others:
            kept = [f for f in other.default_product_families if f not in families]
            if kept != list(other.default_product_families):
                other.default_product_families = kept
                other.updated_at = now
        setting.default_product_families = families
    setting.updated_at = now
    await db.flush()


def _from_control_error(exc: ControlError) -> Exception:
    if exc.status_code == 409:
        return conflict("ENTITY_ERROR.ATTRIBUTE.INVALID", exc.message, pointer="/data/attributes/serverName")
    return unprocessable("/data/attributes", exc.message)


async def create_server(db: AsyncSession, *, org: Org, body: Any) -> MdmServer:
    """`POST /v1/mdmServers`: serverName and serverCertificate required; 409 on a name in use."""
    attributes = _attributes(body, creating=True)
    if "serverCertificate" not in attributes:
        raise unprocessable("/data/attributes/serverCertificate", "'serverCertificate' is required")
    certificate = _certificate_pem(attributes["serverCertificate"])
    data = MdmServerIn(server_name=attributes["serverName"].strip(), certificate_pem=certificate)
    try:
        server = await orgs_service.create_server(db, org=org, data=data)
    except ControlError as exc:
        raise _from_control_error(exc) from exc
    await _save_settings(db, server=server, attributes=attributes)
    return server


async def update_server(db: AsyncSession, *, org: Org, server_id: str, body: Any) -> MdmServer:
    """`PATCH /v1/mdmServers/{id}`: serverName, enableMdmDisownFlag, defaultProductFamilies."""
    server = await get_server(db, org=org, server_id=server_id)
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and data.get("id") not in (None, server.server_uuid, server_id):
        raise conflict(
            "ENTITY_ERROR.ATTRIBUTE.INVALID", "'data.id' does not match the URL", pointer="/data/id"
        )
    attributes = _attributes(body, creating=False)
    if "serverName" in attributes:
        try:
            await orgs_service.rename_server(db, server=server, server_name=attributes["serverName"].strip())
        except ControlError as exc:
            raise _from_control_error(exc) from exc
    await _save_settings(db, server=server, attributes=attributes)
    return server


async def delete_server(db: AsyncSession, *, org: Org, server_id: str) -> None:
    """`DELETE /v1/mdmServers/{id}`: refused while devices are assigned to it ("Unassign all devices
    before deleting", Apple's `delete-an-mdmserver` page). Not with 409, which that operation does
    not list (issue 29 item 9): 403 FORBIDDEN_ERROR, Apple's refusal of an operation the resource's
    state does not allow, with the reason in `detail`."""
    server = await get_server(db, org=org, server_id=server_id)
    try:
        await orgs_service.delete_server(db, server=server, assigned_count=locking.assigned_count)
    except ControlError as exc:
        if exc.status_code != 409:
            raise
        raise JsonApiError(
            403,
            "FORBIDDEN_ERROR",
            "This request is forbidden for security reasons",
            f"The mdmServer '{server.server_uuid}' cannot be deleted: {exc.message}",
        ) from exc
