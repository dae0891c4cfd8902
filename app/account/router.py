"""`GET /account` (spec §6.1)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..core.db import DbSession
from ..core.dep import CurrentServer, ProtocolVersion, SettingsDep
from ..core.openapi import dep_errors
from . import service
from .schemas import AccountDetail

router = APIRouter(tags=["dep"])


@router.get(
    "/account",
    response_model=AccountDetail,
    response_model_exclude_none=True,
    responses=dep_errors(body=False),  # spec §6.1: no codes of its own
)
async def get_account(
    request: Request, server: CurrentServer, version: ProtocolVersion, db: DbSession, settings: SettingsDep
) -> AccountDetail:
    """Get Account Detail: the server and its org; v3+ adds org ids and the `urls` list."""
    return await service.account_detail(
        db, server=server, version=version, settings=settings, openapi=request.app.openapi()
    )
