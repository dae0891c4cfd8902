"""Wire model of GET /emulator/v1/journal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WithheldEvent(BaseModel):
    seq: int
    serial_number: str
    op_type: str


class JournalEntryOut(BaseModel):
    id: str
    emulator_time: datetime = Field(description="Emulator-clock time of the request.")
    wall_at: datetime
    server_uuid: str | None
    client_addr: str | None
    method: str
    path: str
    endpoint: str = Field(description='"METHOD /path"')
    query: str | None
    protocol_version: str | None
    user_agent: str | None
    status: int = Field(description="0: the connection was dropped without a response (fault).")
    error_code: str | None = Field(description="The error body (truncated), for non-2xx answers.")
    latency_ms: float
    cursor: str | None
    limit: int | None
    device_count: int | None = Field(description="Number of serials in the body's `devices`.")
    response_cursor: str | None
    more_to_follow: bool | None
    retry_after: str | None
    fault_id: str | None
    fault: str | None
    rule: str | None = Field(description="The traffic rule that refused the request.")
    withheld: list[WithheldEvent] | None = Field(
        default=None,
        description="Sync: the events of this page the org's lost-events fault withheld (observed F4).",
    )


class JournalPage(BaseModel):
    entries: list[JournalEntryOut]
    next_cursor: str | None
