"""Keyset pages for the console's Business API 2.x pages (Users, Groups, Apps, Blueprints,
Configurations): the console calls the Business API's own listing functions (dep_emulator.abm),
so page N costs what page 1 does, and carries their opaque cursor in `?cursor=`."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..abm.jsonapi import Links, PageRequest, decode_cursor

PAGE = 50
# The JSON:API documents' links are not shown: the console makes its own from ids.
LINKS = Links(base="", path="", query=())
BAD_CURSOR = (
    "This page link is out of date or was changed by hand (its cursor is not one the console made): "
    "start again from the first page."
)


def page_request(request: Request, *, param: str = "cursor", limit: int = PAGE) -> PageRequest:
    """The page asked for; a cursor that is not one of ours raises the Business API's 400 on `cursor`,
    which `render.ConsoleRoute` shows as BAD_CURSOR."""
    raw = request.query_params.get(param, "")
    return PageRequest(limit=limit, after=decode_cursor(raw) if raw else None)


def next_cursor(document: dict[str, Any]) -> str | None:
    cursor: str | None = document["meta"]["paging"].get("nextCursor")
    return cursor
