"""Wire models of /emulator/v1/orgs/{id}/traffic-rules and the traffic report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .rules import Budget, EndpointClass, Preset, TrafficRules


class TrafficOverrides(BaseModel):
    """Per-rule overrides of the preset; a field set to null switches that rule off."""

    model_config = ConfigDict(extra="forbid")

    budgets: dict[EndpointClass, Budget | None] | None = None
    session_per_address: Budget | None = None
    max_concurrent: int | None = Field(default=None, ge=1)
    max_page_size: int | None = Field(default=None, ge=1)
    max_devices_per_request: int | None = Field(default=None, ge=1)
    full_fetch_interval_seconds: float | None = Field(default=None, gt=0)
    sync_interval_seconds: float | None = Field(default=None, gt=0)


class TrafficRulesIn(BaseModel):
    """The org's rules: a preset (null: follow DEPEMU_TRAFFIC_PRESET) and overrides."""

    model_config = ConfigDict(extra="forbid")

    preset: Preset | None = None
    refusal_status: Literal[429, 503] | None = Field(
        default=None, description="Null: DEPEMU_TRAFFIC_REFUSAL_STATUS."
    )
    overrides: TrafficOverrides = Field(default_factory=TrafficOverrides)

    def stored(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "refusal_status": self.refusal_status,
            "overrides": self.overrides.model_dump(mode="json", exclude_unset=True),
        }


class TrafficRulesOut(BaseModel):
    org_id: str
    preset: Preset
    preset_source: Literal["org", "setting"]
    refusal_status: int
    overrides: dict[str, Any]
    effective: TrafficRules


class Violation(BaseModel):
    rule: str
    description: str = Field(description="In plain words, e.g. 'full fetch repeated 3 times within 7 days'.")
    count: int
    first_at: datetime
    last_at: datetime
    request_ids: list[str] = Field(description="Journal ids of the requests involved (at most 50).")


class TrafficReport(BaseModel):
    server_uuid: str
    preset: Preset
    requests_examined: int
    first_request_at: datetime | None
    last_request_at: datetime | None
    violations: list[Violation]
