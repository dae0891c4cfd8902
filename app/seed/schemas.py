"""The seed file: a declarative description of orgs, servers, devices, faults and churn.

Reference with an example: docs/seed-files.md. Every section reuses the control API's own
body models (OrgIn fields, DeviceIn, GenerateIn, FaultScriptIn, TrafficRulesIn, ChurnSpec), so
a seed file accepts exactly what the API accepts; only references between objects change
from generated ids to names (`server: "Staging MDM"`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from ..apple_care.schemas import AppleCareIn
from ..churn.schemas import MAX_DEVICES_PER_EVENT, ChurnSpec
from ..content.schemas import ContentSeed
from ..devices.schemas import DeviceIn, Family, GenerateIn
from ..faults.schemas import FaultScriptIn
from ..people.schemas import PeopleSeed
from ..traffic.schemas import TrafficRulesIn

# Tags of the two kinds of `devices` entries; they appear in pydantic's error locations and
# are dropped from the key paths shown to users (they start with "<").
DEVICE_TAG, GENERATOR_TAG = "<device>", "<generator>"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSeed(_Strict):
    name: str = Field(min_length=1, max_length=200)
    certificate: str | None = Field(
        default=None, description="Inline PEM, or a path (relative to the seed file) to one."
    )
    admin_id: str | None = Field(default=None, max_length=250)
    issue_credentials: bool = Field(
        default=False, description="Issue OAuth credentials unless the server already has a token."
    )


class DeviceSeed(DeviceIn):
    """One explicit device (the control API's DeviceIn) and, optionally, the server it is assigned to."""

    server: str | None = Field(default=None, description="Name of an MDM server of this org.")
    apple_care: list[AppleCareIn] | None = Field(
        default=None,
        description="AppleCare+ contracts (Apple's AppleCareCoverage attributes); one the device already "
        "has (same agreementNumber) is left as it is.",
    )


class GeneratorSeed(_Strict):
    generate: GenerateIn
    server: str | None = Field(default=None, description="Assign the generated devices to this server.")


def _device_kind(value: Any) -> str:
    """Input dicts by their `generate` key; models (when serialising) by their type."""
    is_generator = "generate" in value if isinstance(value, dict) else isinstance(value, GeneratorSeed)
    return GENERATOR_TAG if is_generator else DEVICE_TAG


DeviceEntry = Annotated[
    Annotated[DeviceSeed, Tag(DEVICE_TAG)] | Annotated[GeneratorSeed, Tag(GENERATOR_TAG)],
    Discriminator(_device_kind),
]


class AssignmentSeed(_Strict):
    server: str = Field(description="Name of an MDM server of this org.")
    serials: list[str] | None = Field(default=None, min_length=1)
    order_number: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> AssignmentSeed:
        if (self.serials is None) == (self.order_number is None):
            raise ValueError('give exactly one of "serials" or "order_number"')
        return self


class ProfileSeed(_Strict):
    """A profile defined by one server (the `POST /profile` body) and the devices it is assigned to."""

    server: str = Field(description="Name of the MDM server that defines it.")
    profile: dict[str, Any] = Field(description="The `POST /profile` body, without `devices`.")
    devices: list[str] | None = Field(default=None, min_length=1, description="Serials to assign it to.")
    order_number: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _devices_outside(self) -> ProfileSeed:
        if "devices" in self.profile:
            raise ValueError("list the devices next to `profile` (devices / order_number), not inside it")
        if self.devices is not None and self.order_number is not None:
            raise ValueError('give at most one of "devices" or "order_number"')
        return self


class OrgFaultSeed(FaultScriptIn):
    """A fault script (POST /emulator/v1/faults body) scoped by server name instead of uuid."""

    server: str | None = Field(default=None, description="Only requests authenticated as this server.")

    @model_validator(mode="after")
    def _no_uuid(self) -> OrgFaultSeed:
        if self.server_uuid is not None:
            raise ValueError('inside an org, name the server with "server" (uuids are not known yet)')
        return self


class ChurnSeed(ChurnSpec):
    server: str | None = Field(default=None, description="Name of an MDM server of this org.")


class DepsimChurn(_Strict):
    """depsim's `device_insertions` / `device_deletions` blocks, key for key (scenarios §3)."""

    devices_per_event: int = Field(ge=1, le=MAX_DEVICES_PER_EVENT)
    interval_in_seconds: float | None = Field(default=None, gt=0)
    max_event_count: int | None = Field(default=None, ge=1)
    device_types: list[Family | Literal["IPAD", "IPHONE", "MAC", "APPLETV", "IPOD"]] | None = None
    server: str | None = None

    def families(self) -> list[Family] | None:
        """depsim wrote families in capitals ("IPAD"); ours are Apple's device_family values."""
        names: dict[str, Family] = {
            "IPAD": "iPad",
            "IPHONE": "iPhone",
            "MAC": "Mac",
            "APPLETV": "AppleTV",
            "IPOD": "iPod",
        }
        if self.device_types is None:
            return None
        return list(dict.fromkeys(names[t] if t in names else t for t in self.device_types))  # type: ignore[misc]


class OrgSeed(_Strict):
    name: str = Field(min_length=1, max_length=200, description="Orgs are matched by name.")
    type: Literal["org", "edu"] = "org"
    email: str | None = Field(default=None, max_length=250)
    phone: str | None = Field(default=None, max_length=60)
    address: str | None = Field(default=None, max_length=500)
    terms_accepted: bool | None = None
    settings: dict[str, Any] | None = Field(default=None, description="Org switches, e.g. feed_style.")
    traffic_rules: TrafficRulesIn | None = None
    mdm_servers: list[ServerSeed] = Field(default_factory=list)
    devices: list[DeviceEntry] = Field(default_factory=list)
    assignments: list[AssignmentSeed] = Field(default_factory=list)
    profiles: list[ProfileSeed] = Field(default_factory=list)
    faults: list[OrgFaultSeed] = Field(default_factory=list)
    churn: list[ChurnSeed] = Field(default_factory=list)
    device_insertions: DepsimChurn | None = None
    device_deletions: DepsimChurn | None = None
    people: PeopleSeed | None = Field(default=None, description="Units, users, groups (Business API 2.x).")
    content: ContentSeed | None = Field(
        default=None, description="Apps (licences) and packages (Business API 2.x)."
    )

    @model_validator(mode="after")
    def _depsim_deletions(self) -> OrgSeed:
        if self.device_deletions is not None and self.device_deletions.interval_in_seconds is None:
            raise ValueError("device_deletions needs interval_in_seconds")
        if self.device_deletions is not None and self.device_deletions.device_types is not None:
            raise ValueError("device_types goes with device_insertions")
        return self


class SeedFile(_Strict):
    version: Literal[1] = 1
    orgs: list[OrgSeed] = Field(default_factory=list)
    faults: list[FaultScriptIn] = Field(
        default_factory=list, description="POST /emulator/v1/faults bodies (server_uuid, if any, must exist)."
    )


# --- what a load did (the answer of POST /emulator/v1/seed) -------------------------------

Status = Literal["created", "updated", "unchanged"]


class ServerResult(BaseModel):
    name: str
    server_uuid: str
    status: Status
    oauth_credentials: dict[str, str] | None = Field(
        default=None, description="With issue_credentials: the current token's credentials (spec §3.4)."
    )


class ChurnResult(BaseModel):
    name: str
    id: str
    status: Status


class OrgResult(BaseModel):
    name: str
    id: str
    status: Status
    mdm_servers: list[ServerResult] = Field(default_factory=list)
    devices_added: int = 0
    devices_generated: int = 0
    devices_assigned: int = 0
    profiles_defined: int = 0
    profile_assignments: int = 0
    faults_created: int = 0
    people_created: int = 0
    content_added: int = 0
    churn: list[ChurnResult] = Field(default_factory=list)


class SeedResult(BaseModel):
    changed: bool = Field(description="False when everything in the file was already there.")
    orgs: list[OrgResult]
    faults_created: int = Field(description="Top-level faults created (org faults are counted per org).")
