"""`GET /account` (spec §6.1)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.account import service
from app.account.schemas import AccountDetail
from app.core.db import DbSession
from app.core.dep import JSON_UTF8, CurrentServer, ProtocolVersion, SettingsDep

router = APIRouter(tags=["dep"])


@router.get("/account", response_model=AccountDetail, responses={200: {"content": {JSON_UTF8: {}}}})
async def get_account(
    request: Request, server: CurrentServer, version: ProtocolVersion, db: DbSession, settings: SettingsDep
) -> JSONResponse:
    """Get Account Detail: the server and its org; v3+ adds org ids and the `urls` list."""
    detail = await service.account_detail(
        db, server=server, version=version, settings=settings, routes=request.app.routes
    )
    return JSONResponse(detail.model_dump(exclude_none=True), media_type=JSON_UTF8)
