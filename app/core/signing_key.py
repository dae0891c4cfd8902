"""The key that signs the feed's cursors, in one row every replica shares (never process memory).

It lives on the ground floor because two domains read it: the feed signs and verifies cursors
with it (dep_emulator.feed.cursors), and the session's one-statement lookup reads it along with
the session (dep_emulator.session.service), so a sync page needs no extra round trip.
"""

from __future__ import annotations

import os

import asyncpg
from sqlalchemy import Integer, LargeBinary, text
from sqlalchemy.orm import Mapped, mapped_column

from . import driver
from .db import Base


class EmulatorSecret(Base):
    """The key that signs cursors: one row shared by every replica (never per-process memory).

    Created by migration 0002 and recreated on first use if the row is missing.
    """

    __tablename__ = "emulator_secret"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)


_KEY = "SELECT key FROM emulator_secret WHERE id = 1"
# For a statement that reads the key along with other rows (dep_emulator.session.service, one round trip).
KEY_SCALAR_SQL = f"({_KEY})"
# The key, made on first use if the row is missing (racing replicas agree on the first one written).
ENSURE_KEY = text(
    "WITH made AS (INSERT INTO emulator_secret (id, key) VALUES (1, :key) ON CONFLICT (id) DO NOTHING "
    "RETURNING key) SELECT key FROM made UNION ALL SELECT key FROM emulator_secret WHERE id = 1 LIMIT 1"
)


async def ensure_key(conn: asyncpg.Connection) -> bytes:
    row = await driver.fetchrow(conn, ENSURE_KEY, {"key": os.urandom(32)})
    if row is None:  # another replica made it while this statement waited: the next statement sees it
        row = await driver.fetchrow(conn, _KEY, {})
    return bytes(row[0])
