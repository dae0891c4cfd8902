"""Control API: reset the whole emulator (what the pytest plugin does between tests)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ..core.db import DbSession
from . import service

router = APIRouter(tags=["admin"])


class ResetOut(BaseModel):
    tables_emptied: list[str]


@router.post("/reset", response_model=ResetOut)
async def reset(db: DbSession) -> ResetOut:
    """Delete every org, server, token, session and device; the clock returns to real time."""
    return ResetOut(tables_emptied=await service.reset(db))
