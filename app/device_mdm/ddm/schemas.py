"""Control-API shapes of a device's DDM state (ours; Apple's keys inside `payload` and `last_report`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DeclarationOut(BaseModel):
    identifier: str
    kind: Literal["activation", "asset", "configuration", "management"]
    type: str | None
    server_token: str
    active: bool
    valid: Literal["valid", "invalid", "unknown"]
    reasons: list[dict[str, Any]] = Field(
        description="As the status report carries them (code, description, details)."
    )
    payload: dict[str, Any] | None
    identity: dict[str, Any] | None = Field(
        default=None,
        description="A credential asset's identity as the device keeps it (subject, issuer, serial, "
        "not_before, not_after, hardware_bound, attested, certificate_pem, renewals, renewal_problem: "
        "the reason the last renewal failed, the identity kept).",
    )


class DdmOut(BaseModel):
    serial_number: str
    enabled: bool = Field(
        description="The MDM sent DeclarativeManagement at least once (never switched off)."
    )
    while_awaiting: Literal["notnow", "process"] = Field(
        description="What the device does with DeclarativeManagement while awaiting configuration."
    )
    while_awaiting_set: bool = Field(description="Set through the control API (else from the OS version).")
    declarations_token: str | None
    declarations: list[DeclarationOut]
    subscribed_status_items: list[str]
    last_sync: dict[str, Any] | None = Field(
        description="at, outcome (applied/unchanged/failed), fetched, removed, problem."
    )
    last_report: dict[str, Any] | None = Field(
        description="The last status report sent (Apple's StatusReport JSON)."
    )
    last_report_at: datetime | None
    reports_sent: int
    full_report_due: bool = Field(
        description="The next poll sends a full status report (set through the control API, or a day "
        "of emulator time after the last full report)."
    )
    last_full_report_at: datetime | None = Field(
        default=None,
        description="The last full status report (or the first report, before any full one): the "
        "next is due a day of emulator time later.",
    )


class DdmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    while_awaiting: Literal["notnow", "process"] | None = Field(
        default=None,
        description="notnow: answer DeclarativeManagement NotNow until DeviceConfigured (macOS 14-era "
        "devices); process: sync while awaiting (26.x); null: by the device's OS version. Left as it "
        "is when absent.",
    )
    full_report: bool = Field(
        default=False,
        description="true: the device's next poll sends a full status report (FullReport, the daily "
        "safety sync) with every current value, after any sync.",
    )
