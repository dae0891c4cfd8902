"""`GET /os-beta-enrollment/tokens` (spec §6.8)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..core.db import DbSession
from ..core.openapi import dep_errors
from ..session.dependencies import CurrentServer
from . import service
from .schemas import BetaEnrollmentTokens

router = APIRouter(tags=["dep"])


@router.get(
    "/os-beta-enrollment/tokens",
    response_model=None,
    responses={
        **dep_errors(body=False, forbidden=("APPLE_SEED_FOR_IT_TURNED_OFF",)),  # spec §6.8
        200: {"model": BetaEnrollmentTokens},
    },
)
async def beta_tokens(server: CurrentServer, db: DbSession) -> dict[str, Any]:
    """Get Beta Enrollment Tokens: 403 APPLE_SEED_FOR_IT_TURNED_OFF when the org has it off."""
    return await service.beta_tokens(db, server=server)
