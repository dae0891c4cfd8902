"""Applying a seed file: declare orgs, servers, devices, profiles, faults, traffic rules, churn.

Everything goes through the domain services (orgs, tokens, devices, faults, traffic, churn),
in the caller's one transaction: the first problem raises a SeedError at its line or key and
the caller rolls everything back. Loading the same file twice changes nothing: orgs are
matched by name, servers by name within their org, explicit devices by serial, generators by
their order number, assignments skip devices already on their server, profiles by their
server and validated body, faults by their whole definition and churn schedules by name.
Concurrent loads (replicas starting with the same file) queue on an advisory lock, so the
second one finds everything in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..apple_care import service as apple_care
from ..churn import service as churn_service
from ..churn.schemas import ChurnSpec
from ..core.config import Settings
from ..devices.models import Device
from ..devices.schemas import DeviceIn
from ..faults import service as faults_service
from ..faults.models import FaultScript
from ..faults.schemas import FaultScriptIn
from ..inventory import service as devices_service
from ..orgs import service as orgs_service
from ..orgs import settings as org_settings
from ..orgs.models import MdmServer, Org
from ..orgs.schemas import MdmServerIn, OrgIn
from ..tokens import service as tokens_service
from ..traffic import service as traffic_service
from . import content as seed_content
from . import people as seed_people
from . import profiles as seed_profiles
from .parse import Locator, PathKey, SeedDocument
from .schemas import (
    ChurnResult,
    ChurnSeed,
    DeviceSeed,
    GeneratorSeed,
    OrgResult,
    OrgSeed,
    SeedResult,
    ServerResult,
    ServerSeed,
)

SEED_LOCK = 0x5EED_F11E  # pg_advisory_xact_lock key: one seed load at a time across replicas
ACTOR = "seed file"
# Assignments waiting for every device of the org to exist: (path, server name, serials, order).
Pending = tuple[PathKey, str, list[str] | None, str | None]


async def apply_seed(db: AsyncSession, *, document: SeedDocument, settings: Settings) -> SeedResult:
    """Make the database hold what the file declares (nothing is committed here)."""
    await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK})
    spec, locator = document.spec, document.locator
    orgs = [
        await _apply_org(db, seed, path=("orgs", i), document=document, settings=settings)
        for i, seed in enumerate(spec.orgs)
    ]
    created = 0
    for i, fault in enumerate(spec.faults):
        with locator.at(("faults", i, "server_uuid") if fault.server_uuid else ("faults", i)):
            created += await _ensure_fault(db, fault)
    changed = created > 0 or any(_org_changed(o) for o in orgs)
    return SeedResult(changed=changed, orgs=orgs, faults_created=created)


def _org_changed(org: OrgResult) -> bool:
    return (
        org.status != "unchanged"
        or any(s.status != "unchanged" for s in org.mdm_servers)
        or any(c.status != "unchanged" for c in org.churn)
        or org.devices_added + org.devices_generated + org.devices_assigned + org.faults_created > 0
        or org.profiles_defined + org.profile_assignments + org.people_created + org.content_added > 0
    )


async def _apply_org(
    db: AsyncSession, seed: OrgSeed, *, path: PathKey, document: SeedDocument, settings: Settings
) -> OrgResult:
    locator = document.locator
    org, status = await _ensure_org(db, seed, path=path, locator=locator)
    with locator.at((*path, "traffic_rules")):
        if await _apply_traffic(db, org, seed, settings) and status == "unchanged":
            status = "updated"
    result = OrgResult(name=org.name, id=str(org.id), status=status)
    servers: dict[str, MdmServer] = {s.server_name: s for s in await orgs_service.list_servers(db, org=org)}
    for j, server_seed in enumerate(seed.mdm_servers):
        server_path = (*path, "mdm_servers", j)
        outcome = await _ensure_server(
            db, org, server_seed, servers, path=server_path, document=document, settings=settings
        )
        result.mdm_servers.append(outcome)
    # Churn before devices: a churn row is then locked before any device row, the order the
    # background worker uses too (claim the schedule, then lock devices), so no deadlock.
    for churn_seed in _churn_seeds(seed):
        churn_path: PathKey = (*path, *churn_seed[0])
        server = _server(servers, churn_seed[1].server, path=(*churn_path, "server"), locator=locator)
        spec = ChurnSpec.model_validate(churn_seed[1].model_dump(exclude={"server"}, exclude_unset=True))
        with locator.at(churn_path):
            schedule, churn_status = await churn_service.ensure_schedule(
                db, org=org, server=server, spec=spec
            )
        result.churn.append(ChurnResult(name=schedule.name, id=str(schedule.id), status=churn_status))
    if seed.people is not None:
        result.people_created = await seed_people.ensure_people(
            db, org, seed.people, path=(*path, "people"), locator=locator
        )
    if seed.content is not None:
        result.content_added = await seed_content.ensure_content(
            db, org, seed.content, path=(*path, "content"), locator=locator
        )
    pending: list[Pending] = []
    result.devices_added = await _ensure_devices(db, org, seed, path=path, locator=locator, pending=pending)
    result.devices_generated, result.devices_assigned = await _ensure_generated(
        db, org, seed, servers, path=path, locator=locator, pending=pending
    )
    if seed.device_insertions is not None and seed.device_insertions.interval_in_seconds is None:
        static = seed.device_insertions  # depsim without an interval: a static list, generated once
        generator = GeneratorSeed.model_validate(
            {
                "generate": {"count": static.devices_per_event, "families": static.families()},
                "server": static.server,
            }
        )
        generated, assigned = await _generate(
            db,
            org,
            generator,
            servers,
            key="device_insertions",
            path=(*path, "device_insertions"),
            locator=locator,
            pending=pending,
        )
        result.devices_generated += generated
        result.devices_assigned += assigned
    for j, assignment in enumerate(seed.assignments):
        pending.append(
            ((*path, "assignments", j), assignment.server, assignment.serials, assignment.order_number)
        )
    for pending_path, server_name, serials, order_number in pending:
        server = _server(servers, server_name, path=(*pending_path, "server"), locator=locator)
        assert server is not None
        result.devices_assigned += await _assign(
            db, org, server, serials=serials, order_number=order_number, path=pending_path, locator=locator
        )
    for j, profile_seed in enumerate(seed.profiles):
        profile_path = (*path, "profiles", j)
        server = _server(servers, profile_seed.server, path=(*profile_path, "server"), locator=locator)
        assert server is not None
        defined, assigned = await seed_profiles.ensure_profile(
            db, org, server, profile_seed, path=profile_path, locator=locator, settings=settings
        )
        result.profiles_defined += defined
        result.profile_assignments += assigned
    for j, fault_seed in enumerate(seed.faults):
        fault_path = (*path, "faults", j)
        server = _server(servers, fault_seed.server, path=(*fault_path, "server"), locator=locator)
        body = FaultScriptIn.model_validate(
            fault_seed.model_dump(exclude={"server"}, exclude_none=True, by_alias=True)
            | {"server_uuid": server.server_uuid if server else None}
        )
        with locator.at(fault_path):
            result.faults_created += await _ensure_fault(db, body)
    return result


async def _ensure_org(db: AsyncSession, seed: OrgSeed, *, path: PathKey, locator: Locator) -> tuple[Org, str]:
    found = list(await db.scalars(select(Org).where(Org.name == seed.name).order_by(Org.id)))
    if len(found) > 1:
        raise locator.error(
            (*path, "name"), f"{len(found)} orgs are named {seed.name!r}; names must be unique"
        )
    status = "unchanged"
    if found:
        org = found[0]
    else:
        org = await orgs_service.create_org(
            db,
            data=OrgIn(
                name=seed.name, email=seed.email, phone=seed.phone, address=seed.address, org_type=seed.type
            ),
        )
        status = "created"
    if seed.terms_accepted is not None and org.terms_accepted != seed.terms_accepted:
        await orgs_service.set_terms(db, org=org, accepted=seed.terms_accepted)
        status = "updated" if status == "unchanged" else status
    if seed.settings:
        before = org_settings.effective_settings(org)
        with locator.at((*path, "settings")):
            after = await org_settings.patch_settings(db, org=org, patch=seed.settings)
        status = "updated" if status == "unchanged" and after != before else status
    return org, status


async def _apply_traffic(db: AsyncSession, org: Org, seed: OrgSeed, settings: Settings) -> bool:
    if seed.traffic_rules is None:
        return False
    stored = seed.traffic_rules.stored()
    if (org.settings or {}).get("traffic_rules") == stored:
        return False
    await traffic_service.put_rules(db, org=org, data=seed.traffic_rules, settings=settings)
    return True


async def _ensure_server(
    db: AsyncSession,
    org: Org,
    seed: ServerSeed,
    servers: dict[str, MdmServer],
    *,
    path: PathKey,
    document: SeedDocument,
    settings: Settings,
) -> ServerResult:
    locator = document.locator
    pem = _certificate(seed.certificate, document.base_dir, path=(*path, "certificate"), locator=locator)
    server = servers.get(seed.name)
    status = "unchanged"
    with locator.at((*path, "certificate")):
        if server is None:
            data = MdmServerIn(server_name=seed.name, certificate_pem=pem, admin_id=seed.admin_id)
            server = await orgs_service.create_server(db, org=org, data=data)
            servers[seed.name] = server
            status = "created"
        elif pem is not None and (server.certificate_pem or "").strip() != pem.strip():
            await orgs_service.set_certificate(db, server=server, certificate_pem=pem)
            status = "updated"
    credentials = None
    if seed.issue_credentials:
        token = await tokens_service.current_token(db, server=server)
        if token is None:
            token = await tokens_service.issue_token(
                db, server=server, lifetime_days=settings.token_lifetime_days
            )
            status = "updated" if status == "unchanged" else status
        credentials = tokens_service.credentials(server, token)
    return ServerResult(
        name=server.server_name, server_uuid=server.server_uuid, status=status, oauth_credentials=credentials
    )


def _certificate(value: str | None, base_dir: Path, *, path: PathKey, locator: Locator) -> str | None:
    """Inline PEM as is; anything else is a file path, relative to the seed file."""
    if value is None or value.lstrip().startswith("-----BEGIN"):
        return value
    file = Path(value).expanduser()
    file = file if file.is_absolute() else base_dir / file
    try:
        return file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise locator.error(path, f"cannot read certificate file {str(file)!r}: {exc}") from None


def _server(
    servers: dict[str, MdmServer], name: str | None, *, path: PathKey, locator: Locator
) -> MdmServer | None:
    if name is None:
        return None
    server = servers.get(name)
    if server is None:
        known = ", ".join(repr(n) for n in sorted(servers)) or "none"
        raise locator.error(path, f"no MDM server named {name!r} in this org (known: {known})")
    return server


def _churn_seeds(seed: OrgSeed) -> list[tuple[PathKey, ChurnSeed]]:
    """`churn` entries, plus depsim's device_insertions / device_deletions blocks (named after the key)."""
    found: list[tuple[PathKey, ChurnSeed]] = [(("churn", j), c) for j, c in enumerate(seed.churn)]
    for key, kind in (("device_insertions", "insert"), ("device_deletions", "delete")):
        block = getattr(seed, key)
        if block is None or block.interval_in_seconds is None:
            continue
        values: dict[str, object] = {
            "name": key,
            "kind": kind,
            "devices_per_event": block.devices_per_event,
            "interval_in_seconds": block.interval_in_seconds,
            "max_event_count": block.max_event_count,
            "server": block.server,
        }
        if kind == "insert" and block.device_types is not None:
            values["device_types"] = block.families()
        found.append(((key,), ChurnSeed.model_validate(values)))
    return found


async def _ensure_devices(
    db: AsyncSession, org: Org, seed: OrgSeed, *, path: PathKey, locator: Locator, pending: list[Pending]
) -> int:
    """Explicit devices: add the missing ones (a released serial comes back), skip the org's own."""
    explicit = [(j, d) for j, d in enumerate(seed.devices) if isinstance(d, DeviceSeed)]
    first: dict[str, int] = {}
    for j, device in explicit:
        if device.serial_number in first:
            raise locator.error(
                (*path, "devices", j, "serial_number"),
                f"serial {device.serial_number} is listed twice "
                f"(first at devices[{first[device.serial_number]}])",
            )
        first[device.serial_number] = j
    existing = await devices_service.devices_by_serial(db, serials=list(first))
    missing: list[DeviceIn] = []
    for j, device in explicit:
        known = existing.get(device.serial_number)
        if known is not None and known.org_id not in (None, org.id):
            raise locator.error(
                (*path, "devices", j, "serial_number"),
                f"serial {device.serial_number} belongs to another org",
            )
        if known is None or known.org_id is None:
            missing.append(DeviceIn.model_validate(device.model_dump(exclude={"server", "apple_care"})))
        if device.server is not None:
            pending.append(((*path, "devices", j), device.server, [device.serial_number], None))
    if missing:
        with locator.at((*path, "devices")):
            await devices_service.add_devices(db, org=org, devices=missing)
    for j, device in explicit:
        if device.apple_care:
            with locator.at((*path, "devices", j, "apple_care")):
                await apple_care.ensure_contracts(
                    db, serial=device.serial_number, contracts_in=device.apple_care
                )
    return len(missing)


async def _ensure_generated(
    db: AsyncSession,
    org: Org,
    seed: OrgSeed,
    servers: dict[str, MdmServer],
    *,
    path: PathKey,
    locator: Locator,
    pending: list[Pending],
) -> tuple[int, int]:
    """Every generator of the org run once: (devices generated, of which assigned)."""
    generated = assigned = 0
    for j, entry in enumerate(seed.devices):
        if isinstance(entry, GeneratorSeed):
            entry_path = (*path, "devices", j)
            with locator.at((*entry_path, "generate")):
                made, on_server = await _generate(
                    db,
                    org,
                    entry,
                    servers,
                    key=f"devices[{j}]",
                    path=entry_path,
                    locator=locator,
                    pending=pending,
                )
            generated, assigned = generated + made, assigned + on_server
    return generated, assigned


async def _generate(
    db: AsyncSession,
    org: Org,
    entry: GeneratorSeed,
    servers: dict[str, MdmServer],
    *,
    key: str,
    path: PathKey,
    locator: Locator,
    pending: list[Pending],
) -> tuple[int, int]:
    """Run a generator once: its order number (given, or derived from org and position) marks it done.

    Devices with a server are generated onto it in the same COPY (issue 14); the assignment stays
    pending too, so a later load still moves back any that were assigned elsewhere meanwhile.
    Returns (devices generated, of which assigned).
    """
    spec = entry.generate
    digest = hashlib.blake2b(f"{org.name}\0{key}".encode(), digest_size=8).hexdigest().upper()
    order_number = spec.order_number or f"SEED-{digest[:10]}"
    seed = spec.seed if spec.seed is not None else int(digest, 16) % 2**48
    server = _server(servers, entry.server, path=(*path, "server"), locator=locator)
    if entry.server is not None:
        pending.append((path, entry.server, None, order_number))
    done = await db.scalar(
        select(Device.id)
        .where(Device.order_number == order_number, or_(Device.org_id == org.id, Device.org_id.is_(None)))
        .limit(1)
    )
    if done is not None:
        return 0, 0
    made = await devices_service.generate_devices(
        db,
        org=org,
        count=spec.count,
        families=spec.families,
        order_number=order_number,
        seed=seed,
        start=spec.start,
        server=server,
        assigned_by=ACTOR if server is not None else None,
        os_version=spec.os_version,
    )
    return made.count, made.count if server is not None else 0


async def _assign(
    db: AsyncSession,
    org: Org,
    server: MdmServer,
    *,
    serials: Sequence[str] | None,
    order_number: str | None,
    path: PathKey,
    locator: Locator,
) -> int:
    """Assign what is not on `server` yet (a re-assign would drop the profile, fleet#39871)."""
    if order_number is not None:
        rows = await db.execute(
            select(Device.serial_number, Device.server_id).where(
                Device.org_id == org.id, Device.order_number == order_number
            )
        )
        found = {row[0]: row[1] for row in rows}
        if not found:
            raise locator.error(
                (*path, "order_number"), f"no device of this org has order number {order_number!r}"
            )
    else:
        assert serials is not None
        devices = await devices_service.devices_by_serial(db, serials=serials)
        unknown = [s for s in serials if s not in devices or devices[s].org_id != org.id]
        if unknown:
            raise locator.error((*path, "serials"), f"not devices of this org: {', '.join(unknown[:20])}")
        found = {s: devices[s].server_id for s in serials}
    todo = [serial for serial, server_id in found.items() if server_id != server.id]
    if todo:
        with locator.at(path):
            await devices_service.assign_devices(db, org=org, server=server, serials=todo, assigned_by=ACTOR)
    return len(todo)


async def _ensure_fault(db: AsyncSession, body: FaultScriptIn) -> int:
    """Create the script unless an identical one exists (fired or not): returns 1 if created."""
    server_id = None
    if body.server_uuid is not None:
        server_id = await db.scalar(
            select(MdmServer.id).where(MdmServer.server_uuid == body.server_uuid.upper())
        )
    method, path = faults_service.split_endpoint(body.endpoint)
    same = await db.scalar(
        select(FaultScript.id).where(
            FaultScript.method == method,
            FaultScript.path == path,
            FaultScript.server_id.is_(None) if server_id is None else FaultScript.server_id == server_id,
            FaultScript.probability.is_(None)
            if body.probability is None
            else FaultScript.probability == body.probability,
            FaultScript.responses == [r.stored() for r in body.responses],
        )
    )
    if same is not None:
        return 0
    await faults_service.create_script(db, data=body)
    return 1
