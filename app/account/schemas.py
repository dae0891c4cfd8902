"""Apple's `AccountDetail` (spec §6.1) and its `urls` entries (§13); keys exactly as on the wire."""

from __future__ import annotations

from pydantic import BaseModel


class Limit(BaseModel):
    default: int
    maximum: int


class Url(BaseModel):
    uri: str
    http_method: list[str]
    limit: Limit | None = None


class AccountDetail(BaseModel):
    server_name: str
    server_uuid: str
    admin_id: str
    facilitator_id: str
    org_name: str
    org_email: str
    org_phone: str
    org_address: str
    # Protocol 3 and later (spec §2).
    org_id: str | None = None
    org_id_hash: str | None = None
    org_type: str | None = None
    org_version: str | None = None
    urls: list[Url] | None = None
