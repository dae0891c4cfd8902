"""Control-API shapes for organisations and MDM servers (ours to design, not Apple's)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=250)
    phone: str | None = Field(default=None, max_length=60)
    address: str | None = Field(default=None, max_length=500)
    org_type: Literal["org", "edu"] = "org"


class OrgOut(BaseModel):
    id: str = Field(description="Customer number; also `org_id` in /account.")
    name: str
    email: str
    phone: str
    address: str
    org_type: str
    org_version: str
    org_id_hash: str
    terms_accepted: bool
    created_at: datetime


class OrgList(BaseModel):
    orgs: list[OrgOut]


class TermsIn(BaseModel):
    accepted: bool


class MdmServerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_name: str = Field(min_length=1, max_length=200)
    certificate_pem: str | None = Field(default=None, description="The MDM's public key certificate (PEM).")
    admin_id: str | None = Field(default=None, max_length=250, description="Apple Account of the admin.")


class MdmServerOut(BaseModel):
    server_uuid: str
    server_name: str
    org_id: str
    admin_id: str
    consumer_key: str
    has_certificate: bool
    token_issued: bool
    created_at: datetime


class MdmServerList(BaseModel):
    mdm_servers: list[MdmServerOut]


class CertificateIn(BaseModel):
    certificate_pem: str
