"""Wire models of /emulator/v1/faults (depsim-style ordered response scripts)."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .catalogue import NAMED_ERRORS

# Entries the middleware answers; the other two are applied by the endpoint (see service).
TRANSPORT_KINDS = ("error", "status", "delay_ms", "drop_connection", "pass")
ENDPOINT_KINDS = ("echo_cursor", "device_status")
KINDS = TRANSPORT_KINDS + ENDPOINT_KINDS

# `{id}` stands for one path segment on the Business API (`GET /v1/blueprints/{id}`).
_ENDPOINT = re.compile(r"^(\*|GET|POST|PUT|DELETE|PATCH) (/[A-Za-z0-9_\-./]*(\{id\}[A-Za-z0-9_\-./]*)*)$")


class FaultResponse(BaseModel):
    """One entry: exactly one kind, fired `count` times in a row."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1, le=1_000_000)
    error: str | None = Field(default=None, description="A named error from the spec's catalogue.")
    status: int | None = Field(
        default=None, ge=100, le=599, description="Any status; with `error`, overrides it."
    )
    body: str | None = Field(default=None, max_length=10_000, description="Body sent as is (with `status`).")
    retry_after: int | str | None = Field(default=None, description="Retry-After: seconds or an HTTP-date.")
    delay_ms: int | None = Field(default=None, ge=0, le=600_000)
    drop_connection: Literal[True] | None = None
    echo_cursor: Literal[True] | None = None
    device_status: Literal["FAILED", "THROTTLED"] | None = None
    retry_after_seconds: int | None = Field(default=None, ge=0)
    pass_: Literal[True] | None = Field(default=None, alias="pass")

    @field_validator("error")
    @classmethod
    def _known_error(cls, value: str | None) -> str | None:
        if value is not None and value not in NAMED_ERRORS:
            raise ValueError(f"unknown error {value!r}; known: {', '.join(sorted(NAMED_ERRORS))}")
        return value

    @field_validator("retry_after")
    @classmethod
    def _retry_after(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 0:
            raise ValueError("Retry-After seconds must be ≥ 0")
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        if isinstance(value, str):
            try:
                parsedate_to_datetime(value)
            except (TypeError, ValueError) as exc:
                raise ValueError("Retry-After must be seconds or an HTTP-date") from exc
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> FaultResponse:
        kinds = [k for k in self.kinds_present() if k != "status" or self.error is None]
        if len(kinds) != 1:
            raise ValueError(f"each entry needs exactly one of {', '.join(KINDS)} (got {kinds or 'none'})")
        if self.body is not None and self.status is None:
            raise ValueError("`body` goes with `status`")
        if self.retry_after_seconds is not None and self.device_status is None:
            raise ValueError("`retry_after_seconds` goes with `device_status`")
        if self.retry_after is not None and self.error is None and self.status is None:
            raise ValueError("`retry_after` goes with `error` or `status`")
        return self

    def kinds_present(self) -> list[str]:
        values = {
            "error": self.error,
            "status": self.status,
            "delay_ms": self.delay_ms,
            "drop_connection": self.drop_connection,
            "echo_cursor": self.echo_cursor,
            "device_status": self.device_status,
            "pass": self.pass_,
        }
        return [k for k, v in values.items() if v is not None]

    @property
    def kind(self) -> str:
        present = self.kinds_present()
        return "error" if "error" in present else present[0]

    def stored(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True, by_alias=True)


class FaultScriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(
        description='"METHOD /path", e.g. "POST /devices/sync"; METHOD may be "*". On the Business API '
        '`{id}` stands for any one id: "GET /v1/blueprints/{id}/relationships/apps".'
    )
    server_uuid: str | None = Field(default=None, description="Only requests authenticated as this server.")
    responses: list[FaultResponse] = Field(min_length=1, max_length=1000)
    probability: float | None = Field(
        default=None, gt=0, le=1, description="Soak mode: fire with this probability, forever, cycling."
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        value = " ".join(value.split())
        if not _ENDPOINT.match(value):
            raise ValueError('expected "METHOD /path", e.g. "POST /devices/sync"')
        return value


class FaultStepOut(BaseModel):
    response: dict[str, object]
    remaining: int


class FaultScriptOut(BaseModel):
    id: str
    endpoint: str
    server_uuid: str | None
    probability: float | None
    responses: list[dict[str, object]]
    steps: list[FaultStepOut] = Field(description="Each entry with how many times it has left to fire.")
    remaining: int | None = Field(description="Units left in the whole script (null: probability mode).")
    fired: int
    exhausted: bool
    created_at: datetime
    last_fired_at: datetime | None


class FaultScriptList(BaseModel):
    faults: list[FaultScriptOut]


class FaultsCleared(BaseModel):
    deleted: int
