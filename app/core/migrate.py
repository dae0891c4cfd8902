"""Schema upgrades through Alembic, safe when several replicas start at once.

`migrations/env.py` takes a PostgreSQL advisory lock inside the migration transaction, so a
second replica waits for the first and then finds the schema already at head.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATION_LOCK_ID = 0x6465_7065_6D75  # "depemu": one number all replicas agree on


# The installed package carries the repository's `migrations/` as its subpackage `migrations`.
MIGRATIONS_PACKAGE = f"{__name__.partition('.')[0]}.migrations"


def migrations_dir() -> Path:
    return Path(str(resources.files(MIGRATIONS_PACKAGE)))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking; run it in a thread from async code (env.py runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
