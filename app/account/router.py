"""`GET /account` (spec §6.1)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..core import driver
from ..core.dep import ProtocolVersion
from ..core.openapi import dep_errors
from ..session.dependencies import feed_caller, feed_json
from . import service
from .schemas import AccountDetail, Url

router = APIRouter(tags=["dep"])


@router.get(
    "/account",
    response_model=None,
    responses={200: {"model": AccountDetail}, **dep_errors(body=False)},  # spec §6.1: no codes of its own
)
async def get_account(request: Request, version: ProtocolVersion) -> Response:
    """Get Account Detail: the server and its org; v3+ adds org ids and the `urls` list.

    Answered from the session row the traffic middleware already read, on its connection (no
    statement of its own unless the session rotates: issue 15).
    """
    async with driver.request_connection(request) as conn:  # used only if the session rotates
        caller = await feed_caller(request, conn)
    detail = service.account_detail(caller.values, version=version, urls=_urls(request))
    return feed_json(detail.model_dump_json(exclude_none=True).encode(), caller)


def _urls(request: Request) -> list[Url]:
    """The served endpoints, read once per app from its OpenAPI (which does not change once built)."""
    state = request.app.state
    urls: list[Url] | None = getattr(state, "account_urls", None)
    if urls is None:
        urls = state.account_urls = service.served_urls(request.app.openapi(), state.settings)
    return urls
