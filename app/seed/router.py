"""Control API: load a seed file (docs/seed-files.md) into the running emulator."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request

from ..core.db import DbSession
from ..core.dep import SettingsDep
from . import parse, service
from .schemas import SeedFile, SeedResult

router = APIRouter(tags=["seed"])


@router.post(
    "/seed",
    response_model=SeedResult,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": SeedFile.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            }
        }
    },
)
async def load_seed(request: Request, db: DbSession, settings: SettingsDep) -> SeedResult:
    """Apply a seed file (JSON, or YAML with Content-Type application/yaml); loading twice changes nothing.

    Errors are 422 `invalid_seed` naming the line (YAML) or key path (JSON), and change nothing.
    Relative certificate paths are read from the emulator's working directory.
    """
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise parse.SeedError("the body is not UTF-8") from None
    fmt = parse.format_for(content_type=request.headers.get("content-type", "application/json"))
    document = parse.parse(text, fmt=fmt, base_dir=Path.cwd())
    return await service.apply_seed(db, document=document, settings=settings)
