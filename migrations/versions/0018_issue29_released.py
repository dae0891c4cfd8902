"""Released devices stay listed in the org they left (observed F2), and AppleCare+ contracts (issue 29)

`device.released_org_id`/`released_at`: the org a device was released from and when, with who
released it (`releaser_type`/`releaser_id`, Apple's AuditEventReleaseEntityType and its id); cleared
when the device is added to an org again. Existing released devices are filled in from the org's
audit trail (their last DEVICE_REMOVED_FROM_ORG). `apple_care_contract`: a device's AppleCare+
contracts, listed by `GET /v1/orgDevices/{id}/appleCareCoverage` after the Limited Warranty.
`request_journal.withheld`: the events a sync page left out for the lost-events fault (observed F4).

Revision ID: 0018_issue29
Revises: 0018_issue32
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_issue29"
down_revision: str | None = "0018_issue32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "device",
        sa.Column(
            "released_org_id", sa.BigInteger(), sa.ForeignKey("org.id", ondelete="SET NULL"), nullable=True
        ),
    )
    op.add_column("device", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("device", sa.Column("releaser_type", sa.String(16), nullable=True))
    op.add_column("device", sa.Column("releaser_id", sa.String(250), nullable=True))
    op.create_index(
        "ix_device_released_org_serial",
        "device",
        ["released_org_id", "serial_number"],
        postgresql_where=sa.text("released_org_id IS NOT NULL"),
    )
    op.execute(
        """
        UPDATE device d SET released_org_id = a.org_id, released_at = a.occurred_at,
               releaser_type = a.details->>'releaseEntityType', releaser_id = a.details->>'releaseEntityId'
        FROM (SELECT DISTINCT ON (serial_number) serial_number, org_id, occurred_at, event_type, details
              FROM audit_event WHERE event_type IN ('DEVICE_ADDED_TO_ORG', 'DEVICE_REMOVED_FROM_ORG')
              ORDER BY serial_number, id DESC) a
        WHERE d.serial_number = a.serial_number AND d.org_id IS NULL
          AND a.event_type = 'DEVICE_REMOVED_FROM_ORG'
        """
    )
    # The events of a sync page withheld by the lost-events fault (observed F4), as JSON text.
    op.add_column("request_journal", sa.Column("withheld", sa.Text(), nullable=True))
    # A device's page finds the entries that withheld its events among these few rows.
    op.create_index(
        "ix_request_journal_withheld",
        "request_journal",
        ["id"],
        postgresql_where=sa.text("withheld IS NOT NULL"),
    )
    op.create_table(
        "apple_care_contract",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "device_id", sa.BigInteger(), sa.ForeignKey("device.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("agreement_number", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_type", sa.String(32), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_renewable", sa.Boolean(), nullable=False),
        sa.Column("is_canceled", sa.Boolean(), nullable=False),
        sa.Column("cancel_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("device_id", "agreement_number", name="uq_apple_care_contract_agreement"),
    )


def downgrade() -> None:
    op.drop_table("apple_care_contract")
    op.drop_index("ix_request_journal_withheld", table_name="request_journal")
    op.drop_column("request_journal", "withheld")
    op.drop_index("ix_device_released_org_serial", table_name="device")
    for column in ("releaser_id", "releaser_type", "released_at", "released_org_id"):
        op.drop_column("device", column)
