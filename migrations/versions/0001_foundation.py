"""foundation: orgs, servers, tokens, sessions, clock

Revision ID: 0001
Revises:
Create Date: 2026-11-28 17:27:01.514913
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("org_id_seq", start=1000001)))
    op.create_table(
        "emulator_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_seconds", sa.Float(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_emulator_clock_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_clock")),
    )
    op.create_table(
        "oauth_nonce",
        sa.Column("consumer_key", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=200), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer_key", "nonce", "timestamp", name=op.f("pk_oauth_nonce")),
    )
    op.create_index("ix_oauth_nonce_seen_at", "oauth_nonce", ["seen_at"], unique=False)
    op.create_table(
        "org",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=250), nullable=False),
        sa.Column("phone", sa.String(length=60), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("org_type", sa.String(length=16), nullable=False),
        sa.Column("org_version", sa.String(length=8), nullable=False),
        sa.Column("org_id_hash", sa.String(length=64), nullable=False),
        sa.Column("terms_accepted", sa.Boolean(), nullable=False),
        sa.Column("terms_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org")),
        sa.UniqueConstraint("org_id_hash", name=op.f("uq_org_org_id_hash")),
    )
    op.create_table(
        "mdm_server",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_uuid", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("server_name", sa.String(length=200), nullable=False),
        sa.Column("admin_id", sa.String(length=250), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=True),
        sa.Column("consumer_key", sa.String(length=128), nullable=False),
        sa.Column("consumer_secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_mdm_server_org_id_org"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdm_server")),
        sa.UniqueConstraint("consumer_key", name=op.f("uq_mdm_server_consumer_key")),
        sa.UniqueConstraint("org_id", "server_name", name="uq_mdm_server_org_name"),
        sa.UniqueConstraint("server_uuid", name=op.f("uq_mdm_server_server_uuid")),
    )
    op.create_index(op.f("ix_mdm_server_org_id"), "mdm_server", ["org_id"], unique=False)
    op.create_table(
        "auth_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mdm_server.id"],
            name=op.f("fk_auth_session_server_id_mdm_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_session")),
    )
    op.create_index(op.f("ix_auth_session_server_id"), "auth_session", ["server_id"], unique=False)
    op.create_table(
        "oauth_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("access_token", sa.String(length=128), nullable=False),
        sa.Column("access_secret", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mdm_server.id"],
            name=op.f("fk_oauth_token_server_id_mdm_server"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_token")),
        sa.UniqueConstraint("access_token", name=op.f("uq_oauth_token_access_token")),
    )
    op.create_index(op.f("ix_oauth_token_server_id"), "oauth_token", ["server_id"], unique=False)
    op.create_index(
        "uq_oauth_token_current",
        "oauth_token",
        ["server_id"],
        unique=True,
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    op.execute("INSERT INTO emulator_clock (id, offset_seconds) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_index(
        "uq_oauth_token_current", table_name="oauth_token", postgresql_where=sa.text("superseded_at IS NULL")
    )
    op.drop_index(op.f("ix_oauth_token_server_id"), table_name="oauth_token")
    op.drop_table("oauth_token")
    op.drop_index(op.f("ix_auth_session_server_id"), table_name="auth_session")
    op.drop_table("auth_session")
    op.drop_index(op.f("ix_mdm_server_org_id"), table_name="mdm_server")
    op.drop_table("mdm_server")
    op.drop_table("org")
    op.drop_index("ix_oauth_nonce_seen_at", table_name="oauth_nonce")
    op.drop_table("oauth_nonce")
    op.drop_table("emulator_clock")
    op.execute(sa.schema.DropSequence(sa.Sequence("org_id_seq")))
