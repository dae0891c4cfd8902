"""Control API: the portal's "Download Token", and raw credentials for clients that import them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ..core.db import DbSession
from ..core.dep import SettingsDep
from ..core.errors import ControlError
from ..core.openapi import control_errors
from ..orgs import service as orgs_service
from . import service
from .schemas import OAuthCredentialsOut

router = APIRouter(prefix="/mdm-servers/{server_uuid}", tags=["tokens"])


@router.post(
    "/token",
    response_class=Response,
    responses={
        200: {"content": {"application/pkcs7-mime": {}}, "description": "The .p7m server token."},
        **control_errors(409),  # certificate_required
    },
)
async def download_token(server_uuid: str, db: DbSession, settings: SettingsDep) -> Response:
    """A new server token (.p7m) encrypted to the uploaded certificate; earlier tokens stop working."""
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    token_file = await service.download_token_file(
        db, server=server, lifetime_days=settings.token_lifetime_days
    )
    return Response(
        token_file.content,
        media_type="application/pkcs7-mime",
        headers={"Content-Disposition": f'attachment; filename="{token_file.filename}"'},
    )


@router.get("/oauth-credentials", response_model=OAuthCredentialsOut)
async def get_oauth_credentials(server_uuid: str, db: DbSession) -> OAuthCredentialsOut:
    """The current token's decrypted JSON (spec §3.4)."""
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    token = await service.current_token(db, server=server)
    if token is None:
        raise ControlError(
            404, "no_token", "no token issued yet: POST .../token or POST .../oauth-credentials first"
        )
    return OAuthCredentialsOut(**service.credentials(server, token))


@router.post("/oauth-credentials", response_model=OAuthCredentialsOut)
async def issue_oauth_credentials(
    server_uuid: str, db: DbSession, settings: SettingsDep
) -> OAuthCredentialsOut:
    """Issue new credentials without a certificate (as a token download does; earlier ones stop working)."""
    server = await orgs_service.get_server(db, server_uuid=server_uuid)
    token = await service.issue_token(db, server=server, lifetime_days=settings.token_lifetime_days)
    return OAuthCredentialsOut(**service.credentials(server, token))
