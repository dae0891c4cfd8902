"""Wire models of /emulator/v1/orgs/{id}/churn (depsim's device_insertions / device_deletions)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..devices.schemas import Family

MAX_DEVICES_PER_EVENT = 1000


class ChurnSpec(BaseModel):
    """One schedule: every `interval_in_seconds` (emulator clock) insert or delete N devices, M times.

    Field names follow depsim's config (`devices_per_event`, `interval_in_seconds`,
    `max_event_count`, `device_types`; scenarios §3).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Unique within the org.")
    kind: Literal["insert", "delete"]
    devices_per_event: int = Field(ge=1, le=MAX_DEVICES_PER_EVENT)
    interval_in_seconds: float = Field(gt=0, le=10 * 365 * 86400)
    max_event_count: int | None = Field(default=None, ge=1, description="Null: forever.")
    device_types: list[Family] | None = Field(
        default=None, min_length=1, description="insert: device families generated (default: all)."
    )
    action: Literal["release", "unassign"] = Field(
        default="release",
        description="delete: `release` takes devices out of the org, `unassign` only off the server; "
        "either gives `deleted` on the server's feed.",
    )
    seed: int | None = Field(default=None, ge=0, le=2**62, description="insert: generator seed.")
    order_number: str | None = Field(default=None, max_length=64, description="insert: order of the devices.")
    start_in_seconds: float | None = Field(
        default=None, ge=0, description="First event this long after creation (default: one interval)."
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> ChurnSpec:
        if self.kind == "delete" and (
            self.device_types is not None or self.seed is not None or self.order_number is not None
        ):
            raise ValueError("device_types, seed and order_number go with kind insert")
        if self.kind == "insert" and "action" in self.model_fields_set:
            raise ValueError("action goes with kind delete")
        return self


class ChurnIn(ChurnSpec):
    server_uuid: str | None = Field(
        default=None, description="insert: assign new devices to it; delete: pick devices assigned to it."
    )


class ChurnOut(BaseModel):
    id: str
    org_id: str
    name: str
    kind: str
    server_uuid: str | None
    devices_per_event: int
    interval_in_seconds: float
    max_event_count: int | None
    device_types: list[str] | None
    action: str | None
    seed: int | None
    order_number: str | None
    events_run: int
    devices_affected: int
    next_run_at: datetime | None = Field(description="Emulator clock; null once max_event_count ran.")
    last_run_at: datetime | None
    last_error: str | None
    finished: bool
    created_at: datetime


class ChurnList(BaseModel):
    churn: list[ChurnOut]


class ChurnDeleted(BaseModel):
    deleted: int


class ChurnRun(BaseModel):
    schedule: ChurnOut
    affected: int = Field(description="Devices inserted or deleted by this event.")
    serials: list[str]
