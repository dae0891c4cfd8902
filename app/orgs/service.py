"""Organisations and their MDM servers: the portal side of the emulator."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core import certificates
from ..core.errors import ControlError, not_found
from ..core.security import random_hex
from .models import MdmServer, Org
from .schemas import MdmServerIn, OrgIn


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "org"


async def create_org(db: AsyncSession, *, data: OrgIn) -> Org:
    now = await clock.now(db)
    slug = _slug(data.name)
    org = Org(
        name=data.name,
        email=data.email or f"it@{slug}.example",
        phone=data.phone or "+1 555 0100",
        address=data.address or "1 Infinite Loop, Cupertino, CA 95014, US",
        org_type=data.org_type,
        org_version="v2",
        org_id_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        terms_accepted=True,
        terms_changed_at=now,
        settings={},
        created_at=now,
    )
    db.add(org)
    await db.flush()
    return org


async def list_orgs(db: AsyncSession) -> list[Org]:
    return list((await db.execute(select(Org).order_by(Org.id))).scalars())


async def get_org(db: AsyncSession, *, org_id: str) -> Org:
    org = (
        await db.get(Org, int(org_id)) if org_id.isascii() and org_id.isdigit() and len(org_id) < 19 else None
    )
    if org is None:
        raise not_found("org", org_id)
    return org


async def set_terms(db: AsyncSession, *, org: Org, accepted: bool) -> Org:
    """Accept or withdraw the program terms; while withdrawn `/session` answers T_C_NOT_SIGNED."""
    org.terms_accepted = accepted
    org.terms_changed_at = await clock.now(db)
    await db.flush()
    return org


def _checked_certificate(pem: str) -> str:
    try:
        certificates.load_certificate(pem)
    except certificates.InvalidCertificate as exc:
        raise ControlError(400, "invalid_certificate", str(exc)) from exc
    return pem.strip() + "\n"


async def create_server(db: AsyncSession, *, org: Org, data: MdmServerIn) -> MdmServer:
    existing = await db.scalar(
        select(MdmServer.id).where(MdmServer.org_id == org.id, MdmServer.server_name == data.server_name)
    )
    if existing is not None:
        raise _duplicate_name(data.server_name)
    server = MdmServer(
        server_uuid=random_hex(16, upper=True),
        org_id=org.id,
        server_name=data.server_name,
        admin_id=data.admin_id or org.email,
        certificate_pem=_checked_certificate(data.certificate_pem) if data.certificate_pem else None,
        consumer_key="CK_" + random_hex(48),
        consumer_secret="CS_" + random_hex(20),
        created_at=await clock.now(db),
    )
    db.add(server)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:  # a concurrent create with the same name won the race
        raise _duplicate_name(data.server_name) from exc
    return server


async def rename_server(db: AsyncSession, *, server: MdmServer, server_name: str) -> MdmServer:
    """Rename a server; 409 when the org already has another server with that name."""
    if server_name == server.server_name:
        return server
    existing = await db.scalar(
        select(MdmServer.id).where(
            MdmServer.org_id == server.org_id, MdmServer.server_name == server_name, MdmServer.id != server.id
        )
    )
    if existing is not None:
        raise _duplicate_name(server_name)
    server.server_name = server_name
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:
        raise _duplicate_name(server_name) from exc
    return server


async def delete_server(
    db: AsyncSession, *, server: MdmServer, assigned_count: Callable[[AsyncSession, int], Awaitable[int]]
) -> None:
    """Delete a server with its tokens, sessions and feed; 409 while devices are assigned to it.

    The server row is locked first: an assignment to it takes that lock before it moves any
    device (dep_emulator.devices.locking), so no device can arrive between the count and the delete.
    `assigned_count` is the device inventory's count (dep_emulator.devices.locking.assigned_count),
    passed in because the inventory builds on orgs, not the other way round.
    """
    await db.execute(select(MdmServer.id).where(MdmServer.id == server.id).with_for_update())
    assigned = await assigned_count(db, server.id)
    if assigned:
        raise ControlError(
            409, "server_has_devices", f"{assigned} device(s) are still assigned; unassign them first"
        )
    await db.execute(delete(MdmServer).where(MdmServer.id == server.id))
    db.expunge(server)


# The tokens domain (dep_emulator.tokens) builds on orgs and owns `oauth_token`; the server's own
# view reads this one fact of it by name instead of importing upward.
_TOKEN_ISSUED = text(
    "SELECT EXISTS (SELECT 1 FROM oauth_token WHERE server_id = :id AND superseded_at IS NULL)"
)


async def token_issued(db: AsyncSession, *, server: MdmServer) -> bool:
    """Whether the server has a current OAuth token (the portal shows it on the server's page)."""
    return bool(await db.scalar(_TOKEN_ISSUED, {"id": server.id}))


def _duplicate_name(name: str) -> ControlError:
    return ControlError(409, "duplicate_server_name", f"this org already has an MDM server named {name!r}")


async def list_servers(db: AsyncSession, *, org: Org) -> list[MdmServer]:
    result = await db.execute(select(MdmServer).where(MdmServer.org_id == org.id).order_by(MdmServer.id))
    return list(result.scalars())


async def get_server(db: AsyncSession, *, server_uuid: str) -> MdmServer:
    server = await db.scalar(select(MdmServer).where(MdmServer.server_uuid == server_uuid.upper()))
    if server is None:
        raise not_found("MDM server", server_uuid)
    return server


async def set_certificate(db: AsyncSession, *, server: MdmServer, certificate_pem: str) -> MdmServer:
    """Upload or replace the public key that server tokens are encrypted to."""
    server.certificate_pem = _checked_certificate(certificate_pem)
    await db.flush()
    return server
