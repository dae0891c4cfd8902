"""The `dep-emulator` command line: `serve`, `migrate`, and commands for a running instance."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import __version__
from ..core.config import Settings
from .client import CliError, fail
from .commands import add_commands


def _settings(overrides: dict[str, Any]) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"DEPEMU_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise SystemExit(f"dep-emulator: bad settings: {problems}") from None


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..core.logging import log_config
    from ..main import create_app
    from . import workers

    settings = _settings(
        {
            "host": args.host,
            "port": args.port,
            "data_dir": args.data_dir,
            "seed_file": args.seed,
            "workers": args.workers,
        }
    )
    if settings.seed_file is not None:
        from ..seed import parse

        try:  # syntax and schema errors stop us here, before a database is even started
            parse.read_file(settings.seed_file)
        except parse.SeedError as exc:
            raise CliError(f"seed file {settings.seed_file}: {exc.message}") from None
    # Issue 15: several workers get the factory's import string (dep_emulator.cli.workers).
    app: Any = create_app(settings) if settings.workers == 1 else workers.prepare(settings)
    uvicorn.run(
        app,
        workers=settings.workers,
        factory=settings.workers > 1,
        host=settings.host,
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=settings.log_level.lower(),
        log_config=log_config(settings.log_level, settings.log_format),
        access_log=False,
        timeout_graceful_shutdown=30,
        timeout_keep_alive=settings.keep_alive_seconds,
    )
    return 0


def migrate(args: argparse.Namespace) -> int:
    from ..core import embedded_pg
    from ..core import migrate as migrations

    settings = _settings({"data_dir": args.data_dir})
    url = settings.async_database_url
    embedded = None
    if url is None:
        embedded = embedded_pg.start(settings.data_dir)
        url = embedded.url
    try:
        migrations.upgrade(url)
    finally:
        if embedded is not None:
            embedded.stop()
    print("schema is at head")  # noqa: T201 - a CLI's answer
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dep-emulator", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser(
        "serve", help="run the emulator (embedded PostgreSQL unless DEPEMU_DATABASE_URL)"
    )
    serve_cmd.add_argument("--host", default=None, help="bind address (DEPEMU_HOST, default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=None, help="port (DEPEMU_PORT, default 8080)")
    serve_cmd.add_argument(
        "--data-dir", type=Path, default=None, help="embedded PostgreSQL data (DEPEMU_DATA_DIR)"
    )
    serve_cmd.add_argument(
        "--seed",
        type=Path,
        default=None,
        help="seed file (YAML or JSON) loaded after migrations, before serving (DEPEMU_SEED_FILE)",
    )
    serve_cmd.add_argument(
        "--workers", type=int, default=None, help="worker processes on one port (DEPEMU_WORKERS, default 1)"
    )
    serve_cmd.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1", help="proxies trusted for X-Forwarded-* headers"
    )
    serve_cmd.set_defaults(func=serve)

    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema and exit")
    migrate_cmd.add_argument(
        "--data-dir", type=Path, default=None, help="embedded PostgreSQL data (DEPEMU_DATA_DIR)"
    )
    migrate_cmd.set_defaults(func=migrate)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=os.environ.get("DEPEMU_URL", "http://127.0.0.1:8080"), help="emulator (DEPEMU_URL)"
    )
    common.add_argument(
        "--admin-token",
        default=os.environ.get("DEPEMU_ADMIN_TOKEN"),
        help="control-API token (DEPEMU_ADMIN_TOKEN)",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except CliError as exc:
        fail(str(exc))
    except OSError as exc:  # unreadable certificate, unwritable token path, ...
        fail(str(exc))
    return int(result or 0)
