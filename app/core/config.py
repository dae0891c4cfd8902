"""Typed settings, read once from `DEPEMU_*` environment variables.

Settings fail fast: a bad value stops the process at start-up with a message naming the
variable, instead of surfacing later as a confusing wire error.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MAX_PROTOCOL_VERSION = 10


class ErrorBodyStyle(StrEnum):
    """How Apple-surface error codes are written in response bodies (spec §1.5)."""

    PLAIN = "plain"  # the bare code, as the real service does: USER_AGENT_INVALID
    QUOTED = "quoted"  # depsim's style: "USER_AGENT_INVALID"


class OAuthErrorStyle(StrEnum):
    """How OAuth-level `/session` failures are written (spec §4.4; unverified on the real service)."""

    PROBLEM = "oauth_problem"  # oauth_problem=token_rejected
    BARE = "bare"  # token_rejected


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("dep-emulator", appauthor=False))


class Settings(BaseSettings):
    """Every knob of the emulator; see docs/configuration.md for the table."""

    model_config = SettingsConfigDict(env_prefix="DEPEMU_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL URL (postgresql+asyncpg://...). Unset: start an embedded PostgreSQL. Bulk writes "
            "are fastest when its role may SET session_replication_role (a superuser, or PostgreSQL 15+'s "
            "GRANT SET ON PARAMETER): they then skip per-row key checks their locks make redundant."
        ),
    )
    data_dir: Path = Field(
        default_factory=default_data_dir, description="Where the embedded PostgreSQL keeps its data."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port `serve` listens on.")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Worker processes `serve` runs behind its one port, on one database (the embedded one is"
            " started once, by the parent). One per CPU core the emulator may use; each opens up to"
            " 5x db_pool_size database connections."
        ),
    )
    migrate_on_start: bool = Field(
        default=True,
        description=(
            "Upgrade the schema when the app starts. `serve --workers N` migrates once in the parent"
            " and turns this off for its workers."
        ),
    )
    keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        le=3600,
        description=(
            "How long `serve` keeps an idle client connection open. Keep it above the idle timeout of"
            " any proxy or client pool in front (nginx: 60 s), or a request sent on a connection the"
            " server is closing at that instant fails with a connection reset."
        ),
    )
    public_base_url: str | None = Field(
        default=None,
        description="Client-visible base URL (behind a proxy); OAuth signatures are verified against it.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for /emulator/v1. Unset: only loopback clients may call it.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description=(
            "auto: readable lines (time, level, message, request id) when the output is a terminal,"
            " JSON lines (one object per line) otherwise; json or text to choose either anywhere."
        ),
    )

    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Database connections kept per replica (up to 3x in bursts; the feed and traffic "
        "bookkeeping pool opens up to 2x more on demand).",
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long to wait for a database connection before answering 503."
    )

    # --- Apple-surface wire behaviour -------------------------------------------------
    error_body_style: ErrorBodyStyle = Field(
        default=ErrorBodyStyle.PLAIN, description="plain (Apple) or quoted (depsim) error bodies."
    )
    user_agent_deny: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated regexes; a matching User-Agent gets 400 USER_AGENT_INVALID.",
    )
    max_protocol_version: int = Field(
        default=MAX_PROTOCOL_VERSION,
        ge=1,
        le=MAX_PROTOCOL_VERSION,
        description="Highest X-Server-Protocol-Version honoured; higher requests are clamped to it.",
    )

    # --- OAuth and sessions (spec §4) --------------------------------------------------
    oauth_verify_signature: bool = Field(default=True, description="Check HMAC-SHA1 signatures.")
    oauth_timestamp_window_seconds: int = Field(default=600, ge=1, description="Allowed clock skew.")
    oauth_error_style: OAuthErrorStyle = Field(
        default=OAuthErrorStyle.PROBLEM,
        description="/session failure bodies: oauth_problem (oauth_problem=token_rejected) or bare.",
    )
    superseded_token_status: Literal[401, 403] = Field(
        default=401, description="Status for a token replaced by a newer download (seen as both)."
    )
    token_lifetime_days: int = Field(default=365, ge=1, description="access_token_expiry after issue.")
    session_ttl_seconds: int = Field(default=3600, ge=1, description="Absolute lifetime of a session.")
    session_rotation_seconds: int = Field(
        default=300, ge=1, description="Age after which a response carries a new X-ADM-Auth-Session."
    )
    session_rotation_grace_seconds: int = Field(
        default=120, ge=0, description="How long the previous session token keeps working after rotation."
    )

    # --- Device feed (spec §8) ---------------------------------------------------------
    fetch_default_limit: int = Field(
        default=100, ge=1, le=1000, description="Fetch/sync page size when none is sent."
    )
    fetch_max_limit: int = Field(
        default=1000, ge=1, le=5000, description="Largest fetch/sync page; larger limits are clamped."
    )
    cursor_max_age_days: int = Field(
        default=7, ge=1, description="Age after which a cursor is EXPIRED_CURSOR."
    )

    # --- Traffic rules, faults and the request journal (spec §12) ------------------------
    traffic_preset: Literal["off", "apple", "strict"] = Field(
        default="off", description="Traffic rules for orgs that did not choose their own preset."
    )
    traffic_refusal_status: Literal[429, 503] = Field(
        default=429, description="Status of a request refused by a traffic rule (with Retry-After)."
    )
    journal_retention_hours: float = Field(
        default=168, gt=0, description="Request-journal rows older than this (wall clock) are pruned."
    )
    journal_max_rows: int = Field(default=200_000, ge=100, description="Upper bound on request-journal rows.")

    # --- Apple Business Manager API (abm-api.md) -----------------------------------------
    abm_activity_delay_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long an orgDeviceActivity stays IN_PROGRESS (abm-api.md §1.6; 0 for tests).",
    )

    # --- Profiles and assignment (spec §6.9–§6.12, §12) --------------------------------
    assign_methods: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["PUT", "POST"],
        description="Methods /profile/devices accepts for assign (PUT,POST); others get 405.",
    )
    device_limit: int = Field(default=1000, ge=1, description="Serials Apple asks for at most per request.")
    enforce_device_limit: bool = Field(
        default=False, description="Reject requests over device_limit with 400 DEVICE_LIMIT_EXCEEDED."
    )
    strict_org_magic: bool = Field(default=False, description='Treat org_magic "" as MAGIC_INVALID.')
    mdm_contact_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="The most a simulated device's request to the MDM or its SCEP server may take, "
        "start to end; then the device reports that the MDM did not answer.",
    )
    mdm_max_redirects: int = Field(
        default=10, ge=0, le=50, description="Redirects a device follows to its enrollment profile."
    )
    mdm_profile_max_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="The largest enrollment profile a device reads."
    )
    mdm_max_commands_per_poll: int = Field(
        default=200,
        ge=1,
        description="Commands a device runs in one connection to its MDM; then it stops and reports "
        "it (an MDM that hands out the same command forever must not hold a device).",
    )
    scep_pending_retries: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Times a device asks again (GetCertInitial, at once) about a SCEP request its CA "
        "left PENDING; then it reports that the CA left the request PENDING.",
    )
    device_key_pool: int = Field(
        default=0,
        ge=0,
        le=10000,
        description="The identities the emulated Apple device CA issues to virtual devices take their "
        "RSA key from a pool of this many keys, reused across devices (0: a fresh key each, as real "
        "devices have). For benches of many devices, where key generation dominates enrollment; "
        "keys a device makes for its MDM (SCEP, ACME) stay fresh.",
    )
    mdm_poll_loop_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often each replica looks for devices whose opt-in MDM poll loop is due "
        "(0: this replica polls none).",
    )

    # --- Seed files and scheduled churn (docs/seed-files.md) ------------------------------
    seed_file: Path | None = Field(
        default=None,
        description="Seed file (YAML or JSON) loaded at start-up, after migrations and before serving.",
    )
    churn_poll_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often each replica looks for due churn events (0: this replica runs none).",
    )
    churn_max_events_per_tick: int = Field(
        default=100, ge=1, description="Churn events one replica runs per tick while catching up."
    )

    @field_validator("user_agent_deny", mode="before")
    @classmethod
    def _split_patterns(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("assign_methods", mode="before")
    @classmethod
    def _split_methods(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            methods = [str(m).upper() for m in value]
            if not methods or any(m not in ("PUT", "POST") for m in methods):
                raise ValueError("must list PUT and/or POST")
            return methods
        return value

    @field_validator("user_agent_deny")
    @classmethod
    def _compile_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {pattern!r}: {exc}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL (postgresql+asyncpg://user:pass@host/db)")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_public_base_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value):
            raise ValueError("must be an absolute http(s) URL such as https://dep.example.org")
        return value.rstrip("/")

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if value.get_secret_value() in {"changeme", "changethis", "secret", "admin"}:
            raise ValueError("refusing a placeholder admin token; choose a real secret")
        return value

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.fetch_default_limit > self.fetch_max_limit:
            raise ValueError("fetch_default_limit must not exceed fetch_max_limit")
        return self

    @property
    def async_database_url(self) -> str | None:
        """The configured URL with the asyncpg driver, whatever scheme the user wrote."""
        if self.database_url is None:
            return None
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
