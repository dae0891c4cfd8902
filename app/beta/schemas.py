"""`GET /os-beta-enrollment/tokens` answer (spec §6.8), for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel


class BetaEnrollmentToken(BaseModel):
    token: str
    title: str
    os: str


class BetaEnrollmentTokens(BaseModel):
    betaEnrollmentTokens: list[BetaEnrollmentToken]  # Apple's name
