"""Control-API shapes for API accounts (ours to design; Apple's wire documents are built as dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["business.api", "school.api"]


class ApiAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Scope | None = Field(
        default=None, description="business.api (ABM) or school.api (ASM); default from the org's type."
    )
    public_key_pem: str | None = Field(
        default=None,
        max_length=10_000,
        description="Your own P-256 public key (PEM; a private key file is read for its public half). "
        "Omit it to get a generated private key, returned once.",
    )
    private_key_format: Literal["apple", "pkcs8"] = Field(
        default="apple",
        description="The generated key file: `apple` (default) is what Apple's portal hands out, PKCS#8 "
        "content under `-----BEGIN EC PRIVATE KEY-----` (NanoAXM accepts only this label); `pkcs8` "
        "the standard `-----BEGIN PRIVATE KEY-----` label (PyJWT and `cryptography` need it).",
    )


class ApiAccountOut(BaseModel):
    client_id: str = Field(description="BUSINESSAPI.<uuid> or SCHOOLAPI.<uuid>: the JWT `sub` and `iss`.")
    key_id: str = Field(description="The JWT header's `kid`.")
    scope: Scope
    org_id: str
    public_key_pem: str
    private_key_pem: str | None = Field(
        default=None, description="Only in the creation response, and only when the emulator made the key."
    )
    created_at: datetime


class ApiAccountList(BaseModel):
    api_accounts: list[ApiAccountOut]
