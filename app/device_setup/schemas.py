"""Control-API shapes for the device's side of enrollment (ours to design)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A language tag as a device reports it (en, fr-FR, zh-Hans-CN): it goes into a property list,
# which cannot hold control characters.
LANGUAGE_TAG = r"^[A-Za-z]{1,8}([_-][A-Za-z0-9]{1,8})*$"


class ActivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_mdm: bool = Field(default=False, description="Also make the device's first request to the MDM.")
    enroll: bool = Field(
        default=False,
        description="Continue into enrollment with the profile the MDM returns (implies contact_mdm): "
        "identity, Authenticate, TokenUpdate; the same as POST .../enroll after activation.",
    )
    language: str | None = Field(
        default=None,
        max_length=35,
        pattern=LANGUAGE_TAG,
        description="LANGUAGE the device reports; default: the profile's, else en.",
    )
    mandatory_software_update: bool = Field(
        default=False,
        description="macOS 26.1+: the Mac must take a mandatory update in Setup Assistant "
        "(MachineInfo MANDATORY_SOFTWARE_UPDATE_REQUIRED).",
    )
    visionos_software_update: bool = Field(
        default=False,
        description="visionOS: send MDM_CAN_REQUEST_SOFTWARE_UPDATE (Apple's schema lists it n/a on "
        "visionOS yet allows the 403 there; unverified, so off by default).",
    )
    web_view_host_rule: Literal["whole_host", "last_two_labels"] = Field(
        default="whole_host",
        description="Which hosts the web view accepts the enrollment profile from: the whole host of "
        "configuration_web_url (as Setup Assistant's code compares it; default) or its last two DNS "
        "labels (as Apple's article words it).",
    )
    hold_token_update: bool = Field(
        default=False,
        description="With enroll: the device sends Authenticate and stops before TokenUpdate, as Setup "
        "Assistant is between the two; POST .../mdm/token-update sends it. Reproduces an MDM that "
        "sends commands on Authenticate, before it can push (fleet#32009).",
    )
    psso_access_token: str | None = Field(
        default=None,
        max_length=4096,
        description="macOS 26: the access token the identity provider hands the Mac after sign-in; "
        "with it the Mac answers the MDM's com.apple.psso.required by retrying with "
        "Authorization: Bearer. Without it the device reports the requirement and stops.",
    )

    @model_validator(mode="after")
    def _hold_needs_enroll(self) -> ActivateIn:
        if self.hold_token_update and not self.enroll:
            raise ValueError("hold_token_update needs enroll: only an enrolling device holds its TokenUpdate")
        return self


class EnrollmentProfileOut(BaseModel):
    signed: bool = Field(description="The MDM returned it CMS-signed.")
    payload_identifier: str | None
    payload_types: list[str | None]
    server_url: str | None = Field(description="ServerURL of the com.apple.mdm payload.")
    check_in_url: str | None
    topic: str | None


class MdmContactOut(BaseModel):
    method: str
    url: str
    status: int | None = None
    content_type: str | None = None
    enrollment_profile: EnrollmentProfileOut | None = None
    error: str | None = Field(
        default=None, description="Why no answer came (connection, TLS, timeout, a redirect loop), in words."
    )
    refusal: str | None = Field(
        default=None,
        description="Why the answer is not a profile, in words: the MDM's refusal (status, Apple's 403 "
        "code and message, Retry-After), an empty answer, or one over the size limit.",
    )
    # For the web view (device_mdm.web_view): its first load's cookies and redirect; not shown.
    set_cookies: list[str] = Field(default_factory=list, exclude=True)
    location: str | None = Field(default=None, exclude=True)


class SetupOut(BaseModel):
    """What switching the device on gives before enrollment (dep_emulator.device_mdm.schemas.ActivationOut
    adds the enrollment that may follow)."""

    serial_number: str
    outcome: Literal["no_profile", "downloaded", "already_configured"] = Field(
        description="no_profile: set up without MDM; downloaded: got the cloud configuration from Apple now; "
        "already_configured: kept the one it installed earlier (new assignments apply after an erase)."
    )
    profile_status: str
    # Absent (not null) without a profile: the route excludes None, so the schema must not require them.
    profile_uuid: str | None = None
    profile: dict[str, Any] | None = Field(
        default=None, description="The profile in Apple's API keys, with org_name."
    )
    cloud_configuration: dict[str, Any] | None = Field(
        default=None, description="What the device got, in its own keys."
    )
    mdm: MdmContactOut | None = None
