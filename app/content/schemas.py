"""Control-API shapes for the content catalogues (the seed file's `content` section too)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SupportedOS = Literal[
    "SUPPORTED_OS_IOS", "SUPPORTED_OS_IPADOS", "SUPPORTED_OS_MACOS", "SUPPORTED_OS_TVOS",
    "SUPPORTED_OS_WATCHOS", "SUPPORTED_OS_VISIONOS", "SUPPORTED_OS_UNSPECIFIED",
]  # fmt: skip


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


class AppIn(_Strict):
    adam_id: str = Field(pattern=r"^[0-9]{1,20}$", description="The App Store adam id.")
    name: str = Field(min_length=1, max_length=200)
    bundle_id: str = Field(min_length=1, max_length=200)
    version: str = Field(default="1.0", max_length=40)
    supported_os: list[SupportedOS] = Field(default=["SUPPORTED_OS_IOS", "SUPPORTED_OS_IPADOS"], min_length=1)
    is_custom_app: bool = False
    website_url: str = Field(default="", max_length=500)
    license_count: int = Field(default=100, ge=0, le=10_000_000)


class AppOut(BaseModel):
    id: str
    name: str
    license_count: int


class PackageIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    version: str = Field(default="1.0", max_length=40)
    url: str | None = Field(
        default=None, max_length=500, description="Default: a URL on the emulator's CDN host."
    )
    bundle_ids: list[str] = Field(default_factory=list, max_length=50)


class PackageOut(BaseModel):
    id: str
    name: str


class CatalogueIn(_Strict):
    """A realistic catalogue: well-known App Store apps (licence counts) and custom packages."""

    apps: int = Field(default=10, ge=0, le=40)
    packages: int = Field(default=3, ge=0, le=1000)
    license_count: int = Field(default=100, ge=0, le=10_000_000)


class CatalogueOut(BaseModel):
    apps: int
    packages: int


class ContentSeed(_Strict):
    apps: list[AppIn] = Field(default_factory=list)
    packages: list[PackageIn] = Field(default_factory=list)
    catalogue: CatalogueIn | None = None
