"""JSON:API rendering for the Business Manager API: links, sparse fieldsets, cursor paging, errors.

Links are absolute and point at the emulator itself (abm-api.md §2.3 item 3): the configured
`DEPEMU_PUBLIC_BASE_URL`, else the request's own base URL. Cursors are opaque to clients:
URL-safe base64 of the last key of the page (keyset paging, so a page costs one index scan).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request

from ..core.config import Settings
from ..core.errors import JsonApiError

DEFAULT_LIMIT = 100  # every example in Apple's docs shows meta.paging.limit 100 (§1.3)
MAX_LIMIT = 1000


# --- errors (§1.7) ------------------------------------------------------------------------


def not_found(resource_type: str, resource_id: str) -> JsonApiError:
    return JsonApiError(
        404,
        "NOT_FOUND",
        "The specified resource doesn't exist",
        f"There is no resource of type '{resource_type}' with id '{resource_id}'",
    )


def bad_parameter(name: str, detail: str) -> JsonApiError:
    return JsonApiError(
        400, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value", detail, source={"parameter": name}
    )


def unprocessable(pointer: str, detail: str) -> JsonApiError:
    return JsonApiError(
        422, "ENTITY_UNPROCESSABLE", "The request entity is not valid", detail, source={"pointer": pointer}
    )


def conflict(code: str, detail: str, *, pointer: str | None = None) -> JsonApiError:
    return JsonApiError(
        409,
        code,
        "The request cannot be fulfilled because of the state of a resource",
        detail,
        source={"pointer": pointer} if pointer else None,
    )


# --- links ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Links:
    """Absolute URLs for this request: `base` is scheme://host[:port][/prefix], without a slash."""

    base: str
    path: str
    query: tuple[tuple[str, str], ...]

    def url(self, path: str, params: Iterable[tuple[str, str]] = ()) -> str:
        query = urlencode(list(params), safe=",[]")
        return f"{self.base}{path}" + (f"?{query}" if query else "")

    @property
    def self_url(self) -> str:
        return self.url(self.path, self.query)

    def with_cursor(self, cursor: str) -> str:
        """This request's URL with `cursor` replaced: `limit` and `fields[...]` carry over."""
        kept = [(k, v) for k, v in self.query if k != "cursor"]
        return self.url(self.path, [*kept, ("cursor", cursor)])


async def request_links(request: Request) -> Links:
    settings: Settings = request.app.state.settings
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    return Links(base=base, path=request.url.path, query=tuple(request.query_params.multi_items()))


RequestLinks = Annotated[Links, Depends(request_links)]


# --- sparse fieldsets (§1.3) ----------------------------------------------------------------


def parse_fields(request: Request, resource_type: str, allowed: Iterable[str]) -> frozenset[str] | None:
    """`fields[<type>]=a,b`: the names to keep, or None for all; 400 on a name the type lacks."""
    key = f"fields[{resource_type}]"
    raw = request.query_params.get(key)
    if raw is None:
        return None
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    unknown = sorted(names - set(allowed))
    if unknown or not names:
        raise bad_parameter(key, f"'{','.join(unknown) or raw}' is not a valid field name for '{key}'")
    return names


def sparse(values: dict[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    return values if fields is None else {k: v for k, v in values.items() if k in fields}


# --- paging (§1.3) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: str | None  # the last key of the previous page

    @property
    def fetch(self) -> int:
        """Rows to read for one page: one more than it shows, to know whether another follows."""
        return self.limit + 1


async def page_request(request: Request) -> PageRequest:
    raw_limit = request.query_params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise bad_parameter(
                "limit", f"'{raw_limit}' is not a valid limit: use an integer from 1 to {MAX_LIMIT}"
            )
        limit = int(raw_limit)
    raw_cursor = request.query_params.get("cursor")
    return PageRequest(limit=limit, after=decode_cursor(raw_cursor) if raw_cursor is not None else None)


Page = Annotated[PageRequest, Depends(page_request)]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not key or len(key) > 64 or "\x00" in key:
        raise bad_parameter("cursor", f"'{cursor[:80]}' is not a valid cursor")
    return key


Row = TypeVar("Row")


def cut_page(rows: Sequence[Row], limit: int, key: Callable[[Row], object]) -> tuple[list[Row], str | None]:
    """Keyset paging: `rows` were read in key order, up to limit + 1 (`PageRequest.fetch`). The
    page's rows, and the key of its last one when more follow (the next cursor's key), else None."""
    kept = list(rows[:limit])
    return kept, str(key(kept[-1])) if len(rows) > limit else None


def list_document(
    data: list[dict[str, Any]], *, links: Links, page: PageRequest, next_key: str | None, total: int | None
) -> dict[str, Any]:
    """A collection document; `next_key` is the last key of this page when more follow."""
    paging: dict[str, Any] = {"limit": page.limit}
    if total is not None:
        paging["total"] = total
    document_links = {"self": links.self_url}
    if next_key is not None:
        cursor = encode_cursor(next_key)
        paging["nextCursor"] = cursor
        document_links["next"] = links.with_cursor(cursor)
    return {"data": data, "links": document_links, "meta": {"paging": paging}}
