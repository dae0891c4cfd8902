"""Control-API shapes for the org's people (ours to design; Apple's shapes are built in
dep_emulator.abm.people). The same models are the seed file's `people` section."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Apple's enums (abm-api-2.md §2.3, §2.4).
UserStatus = Literal["NEW", "RELEASED", "ACTIVE", "DEACTIVATED", "LOCKED", "LOCKED_FOR_SHARED_IPAD"]
GroupType = Literal["STANDARD", "SMART"]
PhoneType = Literal["WORK", "HOME", "MOBILE"]


def _no_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL: refuse it here (422) rather than fail in the database."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _no_nul(value)


class UnitIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)


class UnitOut(BaseModel):
    id: str
    name: str
    description: str
    created_at: datetime


class RoleIn(_Strict):
    """One `roleOuList` entry: a role name held in a unit (the unit's id, or its name in a seed file)."""

    role_name: str = Field(min_length=1, max_length=64)
    ou: str = Field(min_length=1, max_length=200, description="Unit id (or unit name).")


class PhoneIn(_Strict):
    phone_number: str = Field(min_length=1, max_length=40)
    type: PhoneType = "WORK"


class UserIn(_Strict):
    first_name: str = Field(min_length=1, max_length=100)
    middle_name: str = Field(default="", max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    managed_apple_account: str | None = Field(
        default=None,
        max_length=250,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Default: first.last@<the org's e-mail domain>.",
    )
    status: UserStatus = "ACTIVE"
    is_external_user: bool = False
    email: str | None = Field(default=None, max_length=250, description="Default: the Managed Apple Account.")
    employee_number: str = Field(default="", max_length=64)
    cost_center: str = Field(default="", max_length=100)
    division: str = Field(default="", max_length=100)
    department: str = Field(default="", max_length=100)
    job_title: str = Field(default="", max_length=100)
    phone_numbers: list[PhoneIn] = Field(default_factory=list, max_length=10)
    start_date_time: datetime | None = None
    roles: list[RoleIn] | None = Field(
        default=None, max_length=50, description="Default: Staff in the org's first unit."
    )


class UserPatch(_Strict):
    status: UserStatus | None = None
    department: str | None = Field(default=None, max_length=100)
    job_title: str | None = Field(default=None, max_length=100)


class UserOut(BaseModel):
    id: str
    managed_apple_account: str
    first_name: str
    last_name: str
    status: str


class GroupIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    type: GroupType = "STANDARD"
    ou: str | None = Field(default=None, max_length=200, description="Unit id (or name); default the first.")
    members: list[str] = Field(
        default_factory=list, max_length=100_000, description="User ids (or Managed Apple Accounts)."
    )


class GroupOut(BaseModel):
    id: str
    name: str
    type: str
    ou_id: str
    member_count: int


class MembersIn(_Strict):
    members: list[str] = Field(
        min_length=1, max_length=100_000, description="User ids or Managed Apple Accounts."
    )


class GenerateIn(_Strict):
    """Realistic people at scale: units, users with roles, groups with members."""

    users: int = Field(ge=0, le=1_000_000)
    groups: int = Field(default=0, ge=0, le=100_000)
    units: int = Field(
        default=0, ge=0, le=1000, description="Units to add (besides the first, made if none)."
    )
    members_per_group: int = Field(default=25, ge=0, le=10_000)
    seed: int | None = Field(default=None, description="Same seed, same people (ids aside).")


class GenerateOut(BaseModel):
    units: int
    users: int
    groups: int
    memberships: int


class PeopleSeed(_Strict):
    """The seed file's `people` section of an org (docs/seed-files.md)."""

    units: list[UnitIn] = Field(default_factory=list)
    users: list[UserIn] = Field(default_factory=list)
    groups: list[GroupIn] = Field(default_factory=list)
    generate: GenerateIn | None = None
