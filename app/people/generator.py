"""Realistic people at scale (abm-api-2.md §4.4 item 2: directory imports of 100,000 users).

Rows are built in Python from a seeded random generator and written with COPY, so 100,000 users
take seconds. Only the people service (dep_emulator.people.service) calls this.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from . import names

CHUNK = 10_000
USER_COLUMNS = (
    "id", "org_id", "first_name", "middle_name", "last_name", "status", "managed_apple_account",
    "is_external_user", "email", "employee_number", "cost_center", "division", "department",
    "job_title", "phone_numbers", "start_at", "created_at", "updated_at",
)  # fmt: skip
# Mostly active accounts, with the churn a directory import meets (§4.4: RELEASED, DEACTIVATED).
_STATUSES = (
    ("ACTIVE",) * 90 + ("NEW",) * 4 + ("DEACTIVATED",) * 3 + ("LOCKED", "RELEASED", "LOCKED_FOR_SHARED_IPAD")
)


@dataclass(frozen=True, slots=True)
class Generated:
    users: int
    groups: int
    memberships: int


async def raw_connection(db: AsyncSession) -> Any:
    """The asyncpg connection under the session, in the session's transaction."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def _user_row(
    rng: random.Random, *, user_id: int, org_id: int, domain: str, n: int, now: datetime
) -> tuple[Any, ...]:
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    department = rng.choice(list(names.DEPARTMENTS))
    # The running number keeps sign-in names unique however common the name is.
    account = f"{first.lower()}.{last.lower()}{n}@{domain}"
    start = now - timedelta(days=rng.randrange(30, 365 * 12))
    phones = [
        {"phoneNumber": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}", "type": "WORK"}
    ]
    if rng.random() < 0.4:
        phones.append(
            {"phoneNumber": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}", "type": "MOBILE"}
        )
    return (
        user_id, org_id, first, rng.choice(("", "", "", "J.", "M.", "A.")), last, rng.choice(_STATUSES),
        account, rng.random() < 0.02, account, f"E{100000 + n}", f"CC-{rng.randrange(100, 999)}",
        rng.choice(names.DIVISIONS), department, rng.choice(names.DEPARTMENTS[department]),
        json.dumps(phones), start, start, now,
    )  # fmt: skip


async def generate(
    db: AsyncSession,
    *,
    org_id: int,
    domain: str,
    units: Sequence[str],
    users: int,
    groups: int,
    members_per_group: int,
    seed: int | None,
    now: datetime,
    first_number: int,
) -> Generated:
    """COPY `users` users (Staff in a random unit, a few with an admin role too) and `groups` groups
    of up to `members_per_group` of them; `first_number` continues the org's running numbers."""
    rng = random.Random(seed)
    conn = await raw_connection(db)
    ids: list[int] = []
    if users:
        ids = [
            r[0]
            for r in await conn.fetch("SELECT nextval('org_user_id_seq') FROM generate_series(1, $1)", users)
        ]
    for start in range(0, users, CHUNK):
        part = ids[start : start + CHUNK]
        rows = [
            _user_row(rng, user_id=uid, org_id=org_id, domain=domain, n=first_number + start + i, now=now)
            for i, uid in enumerate(part)
        ]
        await conn.copy_records_to_table("org_user", records=rows, columns=list(USER_COLUMNS))
        roles = []
        for uid in part:
            unit = rng.choice(units)
            roles.append((unit, uid, names.STAFF))
            if rng.random() < 0.03:
                roles.append((unit, uid, rng.choice(names.ADMIN_ROLES)))
        await conn.copy_records_to_table(
            "org_user_role", records=roles, columns=["ou_id", "user_id", "role_name"]
        )
    pool = ids or [
        r[0]
        for r in await conn.fetch(
            "SELECT id FROM org_user WHERE org_id = $1 ORDER BY id LIMIT 100000", org_id
        )
    ]
    memberships = 0
    group_rows: list[tuple[Any, ...]] = []
    member_rows: list[tuple[str, int]] = []
    for g in range(groups):
        group_id = str(uuid.uuid4()).upper()  # never from the seed: a second run must not clash
        kind = rng.choice(names.GROUP_KINDS)
        label = rng.choice(list(names.DEPARTMENTS))
        group_type = "SMART" if rng.random() < 0.2 else "STANDARD"
        group_rows.append(
            (
                group_id,
                org_id,
                rng.choice(units),
                f"{label} {kind} {first_number + g}",
                group_type,
                "ACTIVE",
                now,
                now,
            )
        )
        size = min(len(pool), rng.randrange(0, members_per_group + 1)) if members_per_group else 0
        member_rows.extend((group_id, uid) for uid in rng.sample(pool, size))
        memberships += size
        if len(member_rows) >= CHUNK * 5 or g == groups - 1:
            await conn.copy_records_to_table(
                "user_group",
                records=group_rows,
                columns=["id", "org_id", "ou_id", "name", "group_type", "status", "created_at", "updated_at"],
            )
            await conn.copy_records_to_table(
                "user_group_member", records=member_rows, columns=["group_id", "user_id"]
            )
            group_rows, member_rows = [], []
    return Generated(users=users, groups=groups, memberships=memberships)
