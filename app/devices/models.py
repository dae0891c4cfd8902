from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Computed, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base

DEVICE_WIRE_ARGUMENTS = (
    "serial_number, model, description, color, asset_tag, profile_status, profile_uuid, "
    "profile_assign_time, profile_push_time, device_assigned_date, device_assigned_by, os, "
    "device_family, mdm_migration_deadline, bluetooth_mac_address, ethernet_mac_address, "
    "wifi_mac_address, eid, imei, meid, is_replacement_device"
)


class Device(Base):
    """A device in an org's inventory, with every field of Apple's Device object (spec §7).

    `server_id` is the MDM server it is assigned to (None: unassigned); `feed_seq` is the
    sequence number of the last event about it on that server's feed, which orders fetch.
    """

    __tablename__ = "device"
    __table_args__ = (
        Index("ix_device_server_feed", "server_id", "feed_seq"),
        Index("ix_device_org_serial", "org_id", "serial_number"),
        Index("ix_device_org_order", "org_id", "order_number"),
        Index(
            "ix_device_released_org_serial",
            "released_org_id",
            "serial_number",
            postgresql_where=text("released_org_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"))
    server_id: Mapped[int | None] = mapped_column(ForeignKey("mdm_server.id", ondelete="SET NULL"))
    feed_seq: Mapped[int] = mapped_column(BigInteger, default=0)

    model: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(200))
    color: Mapped[str] = mapped_column(String(60))
    device_family: Mapped[str] = mapped_column(String(20))
    os: Mapped[str] = mapped_column(String(20))
    asset_tag: Mapped[str | None] = mapped_column(String(120))
    order_number: Mapped[str | None] = mapped_column(String(64))
    order_date: Mapped[datetime | None]
    wifi_mac_address: Mapped[str | None] = mapped_column(String(17))
    bluetooth_mac_address: Mapped[str | None] = mapped_column(String(17))
    ethernet_mac_address: Mapped[str | None] = mapped_column(String(17))
    imei: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    meid: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    eid: Mapped[str | None] = mapped_column(String(40))
    mdm_migration_deadline: Mapped[datetime | None]
    # What it is and runs (dep_emulator.devices.software): null = a fresh device of its model.
    product_type: Mapped[str | None] = mapped_column(String(40))
    os_version: Mapped[str | None] = mapped_column(String(20))
    os_build: Mapped[str | None] = mapped_column(String(20))
    os_supplemental_extra: Mapped[str | None] = mapped_column(String(8))

    is_replacement_device: Mapped[bool] = mapped_column(Boolean, default=False)
    replaces_serial_number: Mapped[str | None] = mapped_column(String(64))
    replacement_date: Mapped[datetime | None]

    device_assigned_by: Mapped[str | None] = mapped_column(String(250))
    device_assigned_date: Mapped[datetime | None]
    profile_uuid: Mapped[str | None] = mapped_column(String(32))
    profile_status: Mapped[str] = mapped_column(String(16), default="empty")
    profile_assign_time: Mapped[datetime | None]
    profile_push_time: Mapped[datetime | None]

    # Released from an org (observed F2, dep_emulator.inventory.released): the org it left, when, and
    # who released it (Apple's AuditEventReleaseEntityType and id); cleared when added to an org again.
    released_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id", ondelete="SET NULL"))
    released_at: Mapped[datetime | None]
    releaser_type: Mapped[str | None] = mapped_column(String(16))
    releaser_id: Mapped[str | None] = mapped_column(String(250))

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The device as fetch sends it at the latest protocol, as JSON text (function in migration
    # 0010, PL/pgSQL since 0011; kept current by PostgreSQL on every write). Read by the fetch
    # page statement and copied into the events of bulk assignments.
    wire: Mapped[str | None] = mapped_column(
        Text, Computed(f"depemu_device_wire({DEVICE_WIRE_ARGUMENTS})", persisted=True), deferred=True
    )


class DeviceEvent(Base):
    """One entry of an MDM server's sync feed (spec §8.3–§8.4); append-only.

    `seq` is allocated per server while holding that server's row lock (see
    `dep_emulator.devices.events`), so a reader that sees seq N has already seen every seq < N:
    sequence numbers of one server commit in order and sync never skips an event.
    """

    __tablename__ = "device_event"

    server_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("mdm_server.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("device.id", ondelete="SET NULL"))
    serial_number: Mapped[str] = mapped_column(String(64))
    op_type: Mapped[str] = mapped_column(String(16))
    op_at: Mapped[datetime]
    # The device's wire fields at the time of the event, before protocol gating.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The event as sync sends it at the latest protocol: snapshot + op_type + op_date, as JSON
    # text (function in migration 0009, PL/pgSQL since 0011). Read by the sync page statement, never written.
    wire: Mapped[str | None] = mapped_column(
        Text, Computed("depemu_event_wire(snapshot, op_type, op_at)", persisted=True), deferred=True
    )


class DeviceAssignment(Base):
    """One line of a device's assignment history in the portal (shown by the control API).

    `action`: added (to the org), assigned, moved, reassigned, unassigned, modified, released,
    disowned, replaced. `server_uuid` is kept as text so history survives a deleted server.
    """

    __tablename__ = "device_assignment"
    __table_args__ = (
        Index("ix_device_assignment_device", "device_id", "id"),
        Index("ix_device_assignment_org", "org_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("device.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    server_uuid: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(250))
    at: Mapped[datetime]
    # The org the device was in at the change: its history outlives a release or a disown.
    org_id: Mapped[int | None] = mapped_column(BigInteger)
    # portal | control_api | abm_api | mdm; null: derived (dep_emulator.inventory.history.source_of)
    source: Mapped[str | None] = mapped_column(String(16))


class AuditEvent(Base):
    """One line of an org's audit trail: a device added to or removed from the org, or assigned to or
    unassigned from one of its MDM servers (the device events of `GET /v1/auditEvents`, abm-api.md §1.4).

    Written by the devices service in the same transaction as the change it records, whichever
    route caused it (control API, Business Manager activity, DEP disown), so the trail and the
    inventory never disagree. Attributed to the org at the time of the change: a released device
    has no org any more, its removal event still has one. Server uuid and name are copies, so the
    trail survives a deleted server. `details` holds the facts of one event type (order number,
    who released the device).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_org_time", "org_id", "occurred_at", "id"),
        Index("ix_audit_event_serial", "serial_number", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("org.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    group_id: Mapped[str] = mapped_column(String(36))  # one id for the events of one operation
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(250))
    serial_number: Mapped[str] = mapped_column(String(64))
    device_model: Mapped[str] = mapped_column(String(120))
    server_uuid: Mapped[str | None] = mapped_column(String(32))
    server_name: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
