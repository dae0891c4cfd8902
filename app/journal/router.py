"""Control API: the request journal (spec scenario 21)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from ..core.db import DbSession
from . import service
from .models import RequestJournal
from .schemas import JournalEntryOut, JournalPage

router = APIRouter(prefix="/journal", tags=["journal"])


def entry_out(row: RequestJournal) -> JournalEntryOut:
    return JournalEntryOut(
        id=str(row.id),
        emulator_time=row.emulated_at,
        wall_at=row.wall_at,
        server_uuid=row.server_uuid,
        client_addr=row.client_addr,
        method=row.method,
        path=row.path,
        endpoint=f"{row.method} {row.path}",
        query=row.query,
        protocol_version=row.protocol_version,
        user_agent=row.user_agent,
        status=row.status,
        error_code=row.error_code,
        latency_ms=row.latency_ms,
        cursor=row.cursor,
        limit=row.limit,
        device_count=row.device_count,
        response_cursor=row.response_cursor,
        more_to_follow=row.more_to_follow,
        retry_after=row.retry_after,
        fault_id=str(row.fault_id) if row.fault_id is not None else None,
        fault=row.fault,
        rule=row.rule,
        withheld=json.loads(row.withheld) if row.withheld else None,
    )


@router.get("", response_model=JournalPage)
async def get_journal(
    db: DbSession,
    server_uuid: str | None = None,
    endpoint: Annotated[str | None, Query(description='"METHOD /path"')] = None,
    path: str | None = None,
    status_code: Annotated[int | None, Query(alias="status")] = None,
    cursor_value: Annotated[
        str | None, Query(alias="request_cursor", description="Requests sent with it.")
    ] = None,
    since: Annotated[datetime | None, Query(description="Emulator clock, inclusive.")] = None,
    until: Annotated[datetime | None, Query(description="Emulator clock, exclusive.")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    order: Annotated[Literal["asc", "desc"], Query(description="asc: oldest first; desc: newest.")] = "asc",
) -> JournalPage:
    """Requests to Apple's surfaces, oldest first (or newest first), filtered, keyset-paginated."""
    rows, next_cursor = await service.query(
        db,
        server_uuid=server_uuid,
        endpoint=endpoint,
        path=path,
        status=status_code,
        cursor_value=cursor_value,
        since=since,
        until=until,
        after=cursor,
        limit=limit,
        newest_first=order == "desc",
    )
    return JournalPage(entries=[entry_out(r) for r in rows], next_cursor=next_cursor)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def clear_journal(db: DbSession) -> Response:
    """Forget every journal entry."""
    await service.clear(db)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
