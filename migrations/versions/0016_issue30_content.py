"""Apple Business API 2.0 content and policy: apps and packages catalogues, Configurations,
Blueprints and their six relationships

Revision ID: 0016_issue30
Revises: 0015_issue30
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_issue30"
down_revision: str | None = "0015_issue30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"], ["org.id"], name=op.f(f"fk_{table}_org_id_org"), ondelete="CASCADE"
    )


def _times() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "org_app",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("adam_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("bundle_id", sa.String(length=200), nullable=False),
        sa.Column("website_url", sa.String(length=500), nullable=False),
        sa.Column("app_store_url", sa.String(length=500), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("supported_os", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("is_custom_app", sa.Boolean(), nullable=False),
        sa.Column("license_count", sa.Integer(), nullable=False),
        _org_fk("org_app"),
        sa.PrimaryKeyConstraint("org_id", "adam_id", name=op.f("pk_org_app")),
    )
    op.create_table(
        "org_package",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("hash", sa.String(length=128), nullable=False),
        sa.Column("bundle_ids", postgresql.ARRAY(sa.String(length=200)), nullable=False),
        *_times(),
        _org_fk("org_package"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_package")),
    )
    op.create_index("ix_org_package_org_id_key", "org_package", ["org_id", "id"], unique=False)
    op.create_table(
        "configuration",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("config_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("platforms", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.Column("filename", sa.String(length=250), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_times(),
        _org_fk("configuration"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configuration")),
    )
    op.create_index("ix_configuration_org_id_key", "configuration", ["org_id", "id"], unique=False)
    op.create_table(
        "blueprint",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        *_times(),
        _org_fk("blueprint"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprint")),
    )
    op.create_index("ix_blueprint_org_id_key", "blueprint", ["org_id", "id"], unique=False)
    op.create_table(
        "blueprint_member",
        sa.Column("blueprint_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["blueprint_id"],
            ["blueprint.id"],
            name=op.f("fk_blueprint_member_blueprint_id_blueprint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blueprint_id", "kind", "member_id", name=op.f("pk_blueprint_member")),
    )
    op.create_index(
        "ix_blueprint_member_kind_member", "blueprint_member", ["kind", "member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("blueprint_member")
    op.drop_table("blueprint")
    op.drop_table("configuration")
    op.drop_table("org_package")
    op.drop_table("org_app")
