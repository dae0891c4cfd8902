"""The org's people (Apple Business API 2.0/2.2): organizational units, users and their roles per
unit, user groups and their members

Revision ID: 0015_issue30
Revises: 0015_issue32
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_issue30"
down_revision: str | None = "0015_issue32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("org_user_id_seq", start=1000000001)))
    op.create_table(
        "org_unit",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_org_unit_org_id_org"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_unit")),
    )
    op.create_index("ix_org_unit_org_id_key", "org_unit", ["org_id", "id"], unique=False)
    op.create_table(
        "org_user",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("managed_apple_account", sa.String(length=250), nullable=False),
        sa.Column("is_external_user", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=250), nullable=False),
        sa.Column("employee_number", sa.String(length=64), nullable=False),
        sa.Column("cost_center", sa.String(length=100), nullable=False),
        sa.Column("division", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("job_title", sa.String(length=100), nullable=False),
        sa.Column("phone_numbers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_org_user_org_id_org"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_user")),
        sa.UniqueConstraint("org_id", "managed_apple_account", name="uq_org_user_account"),
    )
    op.create_index("ix_org_user_org_id_key", "org_user", ["org_id", "id"], unique=False)
    op.create_table(
        "org_user_role",
        sa.Column("ou_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role_name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["ou_id"], ["org_unit.id"], name=op.f("fk_org_user_role_ou_id_org_unit"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["org_user.id"], name=op.f("fk_org_user_role_user_id_org_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ou_id", "user_id", "role_name", name=op.f("pk_org_user_role")),
    )
    op.create_index(op.f("ix_org_user_role_user_id"), "org_user_role", ["user_id"], unique=False)
    op.create_table(
        "user_group",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("ou_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("group_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_user_group_org_id_org"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ou_id"], ["org_unit.id"], name=op.f("fk_user_group_ou_id_org_unit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_group")),
    )
    op.create_index("ix_user_group_org_id_key", "user_group", ["org_id", "id"], unique=False)
    op.create_index(op.f("ix_user_group_ou_id"), "user_group", ["ou_id"], unique=False)
    op.create_table(
        "user_group_member",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["user_group.id"],
            name=op.f("fk_user_group_member_group_id_user_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["org_user.id"],
            name=op.f("fk_user_group_member_user_id_org_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_user_group_member")),
    )
    op.create_index(op.f("ix_user_group_member_user_id"), "user_group_member", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("user_group_member")
    op.drop_table("user_group")
    op.drop_table("org_user_role")
    op.drop_table("org_user")
    op.drop_table("org_unit")
    op.execute(sa.schema.DropSequence(sa.Sequence("org_user_id_seq")))
