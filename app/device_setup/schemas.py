"""Control-API shapes for the device's side of enrollment (ours to design)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
