"""Manage Servers: the org's MDM servers, "Add MDM Server" in Apple's three steps, a server's page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.errors import ControlError
from ..inventory import views as inventory
from ..journal import service as journal
from ..orgs import service as orgs_service
from ..orgs.models import MdmServer, Org
from ..orgs.schemas import MdmServerIn
from ..tokens import service as tokens_service
from ..traffic import service as traffic_service
from .render import ConsoleRoute, redirect, render, text, upload
from .security import read_form

router = APIRouter(route_class=ConsoleRoute)
MAX_PEM_BYTES = 64 * 1024


async def _rows(db: DbSession, org: Org, servers: list[MdmServer]) -> list[dict[str, object]]:
    uuids = [s.server_uuid for s in servers]
    counts = await inventory.count_by_server(db, server_ids=[s.id for s in servers])
    sessions = await journal.last_request_at(db, server_uuids=uuids, path="/session")
    syncs = await journal.last_request_at(db, server_uuids=uuids, path="/devices/sync")
    rows = []
    for server in servers:
        token = await tokens_service.current_token(db, server=server)
        rows.append(
            {
                "server": server,
                "devices": counts.get(server.id, 0),
                "token_expires_at": token.expires_at if token else None,
                "last_session_at": sessions.get(server.server_uuid),
                "last_sync_at": syncs.get(server.server_uuid),
            }
        )
    return rows


@router.get("/orgs/{org_id}/servers")
async def manage_servers(org_id: str, request: Request, db: DbSession) -> Response:
    org = await orgs_service.get_org(db, org_id=org_id)
    servers = await orgs_service.list_servers(db, org=org)
    return render(request, "servers.html", org=org, rows=await _rows(db, org, servers))


@router.get("/orgs/{org_id}/servers/new")
async def add_server_name(org_id: str, request: Request, db: DbSession) -> Response:
    """Step 1: MDM Server Name."""
    org = await orgs_service.get_org(db, org_id=org_id)
    return render(request, "add_server_name.html", org=org)


async def _name_error(db: DbSession, org: Org, name: str) -> str | None:
    try:
        MdmServerIn(server_name=name)
    except ValidationError:
        return (
            "Enter the MDM server name" if not name else "The MDM server name must be at most 200 characters"
        )
    if any(s.server_name == name for s in await orgs_service.list_servers(db, org=org)):
        return f"This organization already has an MDM server named {name}"
    return None


def _refused_name(request: Request, org: Org, name: str, error: str) -> Response:
    """Step 1 again, with what is wrong with the name (both steps check it: step 2 may come later)."""
    return render(
        request,
        "add_server_name.html",
        status_code=400,
        org=org,
        errors={"server_name": error},
        values={"server_name": name},
    )


@router.post("/orgs/{org_id}/servers/new")
async def add_server_name_submit(org_id: str, request: Request, db: DbSession) -> Response:
    form = await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    name = text(form, "server_name")
    error = await _name_error(db, org, name)
    if error:
        return _refused_name(request, org, name, error)
    return redirect(request, f"/console/orgs/{org.id}/servers/new/key?name={quote(name, safe='')}")


@router.get("/orgs/{org_id}/servers/new/key")
async def add_server_key(org_id: str, request: Request, db: DbSession, name: str = "") -> Response:
    """Step 2: Upload Your Public Key."""
    org = await orgs_service.get_org(db, org_id=org_id)
    if not name:
        return redirect(request, f"/console/orgs/{org.id}/servers/new")
    return render(request, "add_server_key.html", org=org, server_name=name)


async def read_pem(form_file: object) -> tuple[str | None, str | None]:
    """(PEM text, None) or (None, what is wrong with the file)."""
    from starlette.datastructures import UploadFile

    if not isinstance(form_file, UploadFile):
        return None, "Choose your MDM server's public key file (.pem)"
    data = await form_file.read(MAX_PEM_BYTES + 1)
    if not data:
        return None, "The selected file is empty"
    if len(data) > MAX_PEM_BYTES:
        return None, "The selected file is larger than 64 KB: a public key certificate is a few KB"
    try:
        return data.decode("ascii"), None
    except UnicodeDecodeError:
        return None, "This is not a PEM file (it is not text): upload the certificate as PEM"


@router.post("/orgs/{org_id}/servers/new/key")
async def add_server_key_submit(
    org_id: str, request: Request, db: DbSession, settings: SettingsDep
) -> Response:
    form = await read_form(request)
    org = await orgs_service.get_org(db, org_id=org_id)
    name = text(form, "server_name")
    error = await _name_error(db, org, name)
    if error:
        return _refused_name(request, org, name, error)
    pem, problem = await read_pem(upload(form, "public_key"))
    server = None
    if pem is not None:
        try:
            server = await orgs_service.create_server(
                db, org=org, data=MdmServerIn(server_name=name, certificate_pem=pem)
            )
        except ControlError as exc:
            await db.rollback()  # expires what the session loaded: read the org again
            problem = exc.message
            org = await orgs_service.get_org(db, org_id=org_id)
    if server is None:
        return render(
            request,
            "add_server_key.html",
            status_code=400,
            org=org,
            server_name=name,
            errors={"public_key": problem},
        )
    await tokens_service.issue_token(db, server=server, lifetime_days=settings.token_lifetime_days)
    return redirect(request, f"/console/servers/{server.server_uuid}/ready")


@router.get("/servers/{server_uuid}/ready")
async def add_server_token(server_uuid: str, request: Request, db: DbSession) -> Response:
    """Step 3: Your Server Token."""
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    org = await orgs_service.get_org(db, org_id=str(server.org_id))
    return render(request, "add_server_token.html", org=org, server=server)


@router.get("/servers/{server_uuid}/token.p7m")
async def current_token_file(server_uuid: str, request: Request, db: DbSession) -> Response:
    """The token issued last, as its .p7m (downloading it again issues nothing new)."""
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    token = await tokens_service.current_token(db, server=server)
    if token is None or server.certificate_pem is None:
        raise ControlError(409, "no_token", "This server has no token yet: use Download Token on its page")
    return _attachment(tokens_service.token_file(server, token))


def _attachment(token_file: tokens_service.TokenFile) -> Response:
    return Response(
        token_file.content,
        media_type="application/pkcs7-mime",
        headers={
            "Content-Disposition": f'attachment; filename="{quote(token_file.filename, safe=" _-.")}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/servers/{server_uuid}")
async def server_page(
    server_uuid: str, request: Request, db: DbSession, settings: SettingsDep, credentials: str = ""
) -> Response:
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    org = await orgs_service.get_org(db, org_id=str(server.org_id))
    (row,) = await _rows(db, org, [server])
    token = await tokens_service.current_token(db, server=server)
    shown = tokens_service.credentials(server, token) if credentials and token else None
    report = await traffic_service.traffic_report(db, server=server, settings=settings)
    return render(request, "server.html", org=org, server=server, row=row, report=report, credentials=shown)


@router.post("/servers/{server_uuid}/token")
async def download_token(
    server_uuid: str, request: Request, db: DbSession, settings: SettingsDep
) -> Response:
    """Download Token: a new token; earlier ones stop working (as POST .../token of the API)."""
    await read_form(request)
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    token_file = await tokens_service.download_token_file(
        db, server=server, lifetime_days=settings.token_lifetime_days
    )
    return _attachment(token_file)


@router.post("/servers/{server_uuid}/key")
async def upload_new_key(
    server_uuid: str, request: Request, db: DbSession, settings: SettingsDep
) -> Response:
    form = await read_form(request)
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    pem, problem = await read_pem(upload(form, "public_key"))
    if pem is not None:
        try:
            await orgs_service.set_certificate(db, server=server, certificate_pem=pem)
        except ControlError as exc:
            await db.rollback()
            problem = exc.message
    if problem is not None:
        server = await orgs_service.get_server(db, server_uuid=server_uuid)
        org = await orgs_service.get_org(db, org_id=str(server.org_id))
        (row,) = await _rows(db, org, [server])
        report = await traffic_service.traffic_report(db, server=server, settings=settings)
        return render(
            request,
            "server.html",
            status_code=400,
            org=org,
            server=server,
            row=row,
            report=report,
            credentials=None,
            errors={"public_key": problem},
        )
    return redirect(request, f"/console/servers/{server.server_uuid}?notice=key")
