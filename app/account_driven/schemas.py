"""`/account-driven-enrollment/profile` answers (spec §6.13), for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AccountDrivenEnrollmentProfile(BaseModel):
    mdm_service_discovery_url: str
    last_updated_timestamp: str


class EmptyObject(BaseModel):
    """`{}`: what DELETE answers whether or not a URL was set."""

    model_config = ConfigDict(extra="forbid")
