"""traffic rules, fault scripts and the request journal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

`traffic_admit` is the one statement the traffic middleware runs per request: it refills and
takes from every budget the request is subject to, all or nothing, and claims a concurrency
slot, under row locks that last only for that statement (see app/traffic/service.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Budgets refill on the emulator clock (now() + offset), so tests can move time; the
# in-flight lease uses the wall clock (a crashed replica's slots expire after 5 minutes).
TRAFFIC_ADMIT = """
CREATE FUNCTION traffic_admit(
    p_keys text[], p_capacity float8[], p_per_seconds float8[], p_match text[],
    p_slot_key text, p_slot_max integer
) RETURNS TABLE (refused_key text, retry_after float8)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
    n integer := coalesce(array_length(p_keys, 1), 0);
    levels float8[] := '{}';
    exempt boolean[] := '{}';
    worst_key text := NULL;
    worst_wait float8 := 0;
    wait float8;
    lvl float8;
    b traffic_bucket%ROWTYPE;
    busy integer;
BEGIN
    SELECT now() + make_interval(secs => offset_seconds) INTO t FROM emulator_clock WHERE id = 1;
    t := coalesce(t, now());
    INSERT INTO traffic_bucket (key, tokens, refilled_at, in_flight)
    SELECT k, c, t, 0 FROM unnest(p_keys, p_capacity) AS u(k, c)
    ON CONFLICT (key) DO NOTHING;
    IF p_slot_key IS NOT NULL THEN
        INSERT INTO traffic_bucket (key, tokens, refilled_at, in_flight)
        VALUES (p_slot_key, 0, t, 0) ON CONFLICT (key) DO NOTHING;
    END IF;
    -- Lock every row this request touches, in key order, so replicas never deadlock.
    PERFORM 1 FROM traffic_bucket
    WHERE key = ANY(p_keys) OR key = p_slot_key ORDER BY key FOR UPDATE;

    FOR i IN 1 .. n LOOP
        SELECT * INTO b FROM traffic_bucket WHERE key = p_keys[i];
        IF p_match[i] IS NOT NULL AND b.note IS NOT DISTINCT FROM p_match[i] THEN
            exempt[i] := true;  -- the next page of a cycle this bucket already admitted
            levels[i] := b.tokens;
            CONTINUE;
        END IF;
        exempt[i] := false;
        lvl := least(p_capacity[i], b.tokens
            + greatest(0, extract(epoch FROM t - b.refilled_at)) * p_capacity[i] / p_per_seconds[i]);
        levels[i] := lvl;
        IF lvl < 1 THEN
            wait := (1 - lvl) * p_per_seconds[i] / p_capacity[i];
            IF worst_key IS NULL OR wait > worst_wait THEN
                worst_key := p_keys[i];
                worst_wait := wait;
            END IF;
        END IF;
    END LOOP;

    IF worst_key IS NULL AND p_slot_key IS NOT NULL THEN
        SELECT CASE WHEN in_flight_at < now() - interval '5 minutes' THEN 0 ELSE in_flight END
        INTO busy FROM traffic_bucket WHERE key = p_slot_key;
        IF busy >= p_slot_max THEN
            worst_key := p_slot_key;
            worst_wait := 1;
        ELSE
            UPDATE traffic_bucket SET in_flight = busy + 1, in_flight_at = now() WHERE key = p_slot_key;
        END IF;
    END IF;

    FOR i IN 1 .. n LOOP
        IF NOT exempt[i] THEN
            UPDATE traffic_bucket
            SET tokens = levels[i] - CASE WHEN worst_key IS NULL THEN 1 ELSE 0 END, refilled_at = t
            WHERE key = p_keys[i];
        END IF;
    END LOOP;
    RETURN QUERY SELECT worst_key, worst_wait;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "traffic_bucket",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("in_flight", sa.Integer(), server_default="0", nullable=False),
        sa.Column("in_flight_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_traffic_bucket")),
    )
    op.create_table(
        "fault_script",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=True),
        sa.Column("responses", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("step", sa.Integer(), server_default="0", nullable=False),
        sa.Column("used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fired", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mdm_server.id"],
            name=op.f("fk_fault_script_server_id_mdm_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fault_script")),
    )
    op.create_index("ix_fault_script_endpoint", "fault_script", ["path", "method"], unique=False)
    op.create_table(
        "request_journal",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("wall_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emulated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("server_uuid", sa.String(length=32), nullable=True),
        sa.Column("client_addr", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("query", sa.String(length=500), nullable=True),
        sa.Column("protocol_version", sa.String(length=16), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=200), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("limit", sa.Integer(), nullable=True),
        sa.Column("device_count", sa.Integer(), nullable=True),
        sa.Column("response_cursor", sa.Text(), nullable=True),
        sa.Column("more_to_follow", sa.Boolean(), nullable=True),
        sa.Column("retry_after", sa.String(length=64), nullable=True),
        sa.Column("fault_id", sa.BigInteger(), nullable=True),
        sa.Column("fault", sa.String(length=120), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_journal")),
    )
    op.create_index("ix_request_journal_server", "request_journal", ["server_uuid", "id"], unique=False)
    op.create_index("ix_request_journal_wall_at", "request_journal", ["wall_at"], unique=False)
    op.execute(TRAFFIC_ADMIT)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS traffic_admit(text[], float8[], float8[], text[], text, integer)")
    op.drop_index("ix_request_journal_wall_at", table_name="request_journal")
    op.drop_index("ix_request_journal_server", table_name="request_journal")
    op.drop_table("request_journal")
    op.drop_index("ix_fault_script_endpoint", table_name="fault_script")
    op.drop_table("fault_script")
    op.drop_table("traffic_bucket")
