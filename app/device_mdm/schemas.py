"""Control-API shapes for a managed device (ours to design; Apple's keys inside plist views)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..device_setup.schemas import SetupOut


class StepOut(BaseModel):
    """One step of the device's conversation with its MDM or SCEP server."""

    step: str = Field(
        description="e.g. profile.fetch, scep.PKIOperation, checkin.TokenUpdate, command.ProfileList"
    )
    ok: bool
    url: str | None = None
    status: int | None = Field(default=None, description="HTTP status of the answer, if one came.")
    detail: str | None = Field(default=None, description="Why the step failed (or what it did), in words.")
    command_uuid: str | None = None
    sent: str | None = None
    answered: str | None = None


class ProfileCheckOut(BaseModel):
    signed: bool
    signer: str | None = None
    signature_valid: bool | None = None
    payload_identifier: str | None = None


class EnrollmentOut(BaseModel):
    serial_number: str
    outcome: Literal["enrolled", "authenticated", "failed"] = Field(
        description="authenticated: the device sent Authenticate and holds TokenUpdate (hold_token_update) "
        "until POST .../mdm/token-update."
    )
    failure: str | None = Field(default=None, description="Why enrollment stopped, in words.")
    profile: ProfileCheckOut | None = None
    identity_subject: str | None = None
    identity_issuer: str | None = None
    awaiting_configuration: bool | None = None
    steps: list[StepOut]


class PollOut(BaseModel):
    serial_number: str
    outcome: Literal["idle", "stopped", "erased", "restarted", "unenrolled"] = Field(
        description="idle: the server had no more commands; stopped: the conversation ended early "
        "(see problem); erased/restarted/unenrolled: a command did that."
    )
    commands: int = Field(description="Commands the device answered in this connection.")
    problem: str | None = None
    steps: list[StepOut]


class SetupStateOut(BaseModel):
    """Where Setup Assistant is after enrollment (device-2026.md §4's ordering races), emulator clock."""

    state: Literal["token_update_pending", "awaiting_configuration", "configured", "not_awaiting"] = Field(
        description="token_update_pending: Authenticate sent, TokenUpdate held, the device does not connect "
        "to its MDM; awaiting_configuration: Setup Assistant waits for DeviceConfigured; configured: "
        "DeviceConfigured released it; not_awaiting: enrolled without await_device_configured."
    )
    since: datetime = Field(description="When the device entered this state.")
    waited_seconds: float | None = Field(
        default=None, description="For the two waiting states: how long so far (emulator clock)."
    )
    stalled: bool = Field(
        default=False,
        description="Waiting longer than stalled_after_seconds: a real device keeps waiting, without end.",
    )
    stalled_after_seconds: float
    commands_while_waiting: int = Field(
        default=0, description="Commands the device answered since it began to await configuration."
    )
    last_contact_at: datetime | None = Field(default=None, description="The device's last exchange.")
    report: str = Field(description="The state in words.")


class TokenUpdateOut(BaseModel):
    serial_number: str
    ok: bool
    detail: str | None = None
    setup: SetupStateOut | None = None
    steps: list[StepOut]


class ManagedOut(BaseModel):
    serial_number: str
    udid: str
    enrolled_at: datetime
    server_url: str
    check_in_url: str
    topic: str
    sign_message: bool
    mdm_removable: bool
    identity_subject: str
    identity_issuer: str
    awaiting_configuration: bool
    profiles: list[dict[str, Any]] = Field(description="As ProfileList reports them.")
    lock: dict[str, Any] | None
    not_now_remaining: int
    account_configuration: dict[str, Any] | None = Field(
        default=None, description="AccountConfiguration's settings as the Mac keeps them (macOS, awaiting)."
    )
    accounts: list[dict[str, Any]] = Field(
        default_factory=list, description="The local accounts Setup Assistant would create from them."
    )
    poll_every_seconds: float | None
    next_poll_at: datetime | None
    setup: SetupStateOut | None = None


class ExchangeOut(StepOut):
    id: int
    at: datetime = Field(description="When it happened, on the emulator clock.")


class ExchangesOut(BaseModel):
    serial_number: str
    exchanges: list[ExchangeOut]
    next_after_id: int | None = Field(description="Pass as after_id for the next page; null at the end.")


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    every_seconds: float = Field(ge=1, le=86400, description="Poll the MDM every N seconds of wall clock.")


class NotNowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=0, le=1000, description="Answer the next N commands with NotNow.")


class CheckOutOut(BaseModel):
    serial_number: str
    sent_check_out: bool = Field(description="CheckOut was sent (the payload's CheckOutWhenRemoved).")
    steps: list[StepOut]


class OsUpdateOut(BaseModel):
    """An update the device installed because the MDM required it (com.apple.softwareupdate.required)."""

    from_version: str
    from_build: str
    to_version: str
    to_build: str
    supplemental_extra: str | None = None
    requested: dict[str, Any] = Field(description="The 403's details as the MDM sent them.")
    beta_program: str | None = Field(default=None, description="RequireBetaProgram's Description, if asked.")


class WebViewOut(BaseModel):
    """Setup Assistant's web view on configuration_web_url: the page it shows, what a user can do."""

    serial_number: str
    state: Literal["open", "enrolled", "failed", "cancelled"] = Field(
        description="open: showing a page; enrolled: a page returned the enrollment profile and the device "
        "enrolled; failed/cancelled: see detail."
    )
    start_url: str
    url: str = Field(description="The page shown (after redirects).")
    status: int | None = None
    content_type: str | None = None
    title: str
    text: str = Field(description="The page's visible text.")
    forms: list[dict[str, Any]] = Field(
        description="[{index, action, method, fields: [{name, type, value, label}], submit}]"
    )
    links: list[dict[str, Any]] = Field(description="[{index, href, text}]")
    steps: int = Field(description="Pages loaded so far (redirects included).")
    detail: str | None = None
    host_rule: str
    enrollment: EnrollmentOut | None = None
    updates: list[OsUpdateOut] | None = Field(
        default=None,
        description="Updates the device installed because a page answered 403 "
        "com.apple.softwareupdate.required; it then loaded configuration_web_url anew.",
    )


class WebSubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: int = Field(default=0, ge=0, description="Index of the page's form.")
    fields: dict[str, str] = Field(default_factory=dict, description="What the user types, by field name.")


class WebFollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    link: int | None = Field(default=None, ge=0, description="Index of the page's link.")
    url: str | None = Field(default=None, max_length=4096, description="Or a URL the page navigates to.")


class ActivationOut(SetupOut):
    updates: list[OsUpdateOut] | None = Field(
        default=None, description="Software updates the MDM required before it answered MachineInfo."
    )
    stopped: str | None = Field(
        default=None, description="Why the device got no enrollment profile from the MDM (a 403), in words."
    )
    web_view: WebViewOut | None = Field(
        default=None, description="With configuration_web_url: the web view the device opened."
    )
    enrollment: EnrollmentOut | None = None


class EraseOut(BaseModel):
    serial_number: str
    had_configuration: bool
    was_enrolled: bool = Field(description="It was enrolled in an MDM (enrollment and its profiles gone).")
