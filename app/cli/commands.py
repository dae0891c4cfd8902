"""Commands that drive a running emulator through its control API."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .client import CliError, Control, emit, parse_duration, progress

GENERATE_CHUNK = 10_000
IMPORT_BLOCK = 1 << 20


def _control(args: argparse.Namespace) -> Control:
    return Control(args.url, args.admin_token)


def org_create(args: argparse.Namespace) -> None:
    body = {"name": args.name, "org_type": args.org_type}
    if args.email:
        body["email"] = args.email
    org = _control(args).json("POST", "/orgs", json=body)
    emit(org, as_json=args.json, human=f"org {org['id']} {org['name']!r} created")


def org_list(args: argparse.Namespace) -> None:
    orgs = _control(args).json("GET", "/orgs")["orgs"]
    emit(orgs, as_json=args.json, human="\n".join(f"{o['id']}  {o['name']}" for o in orgs) or "(no orgs)")


def server_create(args: argparse.Namespace) -> None:
    control = _control(args)
    body: dict[str, Any] = {"server_name": args.name}
    if args.cert:
        body["certificate_pem"] = Path(args.cert).read_text()
    server = control.json("POST", f"/orgs/{args.org}/mdm-servers", json=body)
    lines = [f"MDM server {server['server_uuid']} {server['server_name']!r} created in org {args.org}"]
    if args.token_out:
        if not args.cert:
            raise CliError("--token-out needs --cert (the token is encrypted to that certificate)")
        _write_token(control, server["server_uuid"], Path(args.token_out))
        lines.append(f"server token written to {args.token_out}")
    emit(server, as_json=args.json, human="\n".join(lines))


def server_token(args: argparse.Namespace) -> None:
    path = _write_token(_control(args), args.server, Path(args.out))
    emit({"token_file": str(path)}, as_json=args.json, human=f"server token written to {path}")


def _write_token(control: Control, server_uuid: str, path: Path) -> Path:
    response = control.call("POST", f"/mdm-servers/{server_uuid}/token")
    path.write_bytes(response.content)
    return path


def devices_generate(args: argparse.Namespace) -> None:
    """Generate in chunks, each assigned to --server in the same request, with a progress bar."""
    control = _control(args)
    order_number = args.order_number or f"CLI-{secrets.token_hex(4).upper()}"
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    label = "generating and assigning" if args.server else "generating"
    created, serials = 0, []
    while created < args.count:
        chunk = min(GENERATE_CHUNK, args.count - created)
        spec: dict[str, Any] = {"count": chunk, "order_number": order_number, "seed": seed, "start": created}
        if args.families:
            spec["families"] = args.families.split(",")
        if args.server:
            spec["server_uuid"] = args.server
        result = control.json("POST", f"/orgs/{args.org}/devices", json={"generate": spec})
        serials.extend(result.get("serials", []))
        created += chunk
        progress(created, args.count, label=label)
    summary: dict[str, Any] = {"created": created, "order_number": order_number}
    if args.count <= 1000:
        summary["serials"] = serials
    if args.server:
        summary["assignment"] = {"count": created, "summary": {"assigned": created}}
    human = f"{created} devices generated (order {order_number})" + (
        f", assigned to {args.server}" if args.server else ""
    )
    emit(summary, as_json=args.json, human=human)


def devices_import(args: argparse.Namespace) -> None:
    """Upload a portal-style CSV, streamed from disk with a progress bar (bytes sent)."""
    path = Path(args.file)
    try:
        total = path.stat().st_size
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None

    def chunks() -> Iterator[bytes]:
        sent = 0
        with path.open("rb") as f:
            while block := f.read(IMPORT_BLOCK):
                sent += len(block)
                progress(sent, total, label="uploading")
                yield block

    params = {"server_uuid": args.server} if args.server else {}
    result = _control(args).json(
        "POST",
        f"/orgs/{args.org}/devices",
        content=chunks(),
        params=params,
        headers={"Content-Type": "text/csv"},
        timeout=None,
    )
    human = f"{result['count']} devices imported from {path}" + (
        f", assigned to {args.server}" if args.server else ""
    )
    emit(result, as_json=args.json, human=human)


def devices_assign(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"server_uuid": None if args.unassign else args.server}
    if args.order_number:
        body["order_number"] = args.order_number
    else:
        body["serials"] = args.serials
    result = _control(args).json("POST", f"/orgs/{args.org}/assignments", json=body)
    emit(result, as_json=args.json, human=json.dumps(result, indent=2))


def clock_show(args: argparse.Namespace) -> None:
    clock = _control(args).json("GET", "/clock")
    emit(clock, as_json=args.json, human=f"{clock['now']} (offset {clock['offset_seconds']:.0f} s)")


def clock_advance(args: argparse.Namespace) -> None:
    clock = _control(args).json("POST", "/clock", json={"advance_seconds": parse_duration(args.duration)})
    emit(clock, as_json=args.json, human=f"clock now {clock['now']} (offset {clock['offset_seconds']:.0f} s)")


def faults_add(args: argparse.Namespace) -> None:
    entry: dict[str, Any] = {"count": args.count}
    if args.error:
        entry["error"] = args.error
    elif args.status:
        entry["status"] = args.status
        if args.retry_after:
            entry["retry_after"] = args.retry_after
    elif args.delay_ms:
        entry["delay_ms"] = args.delay_ms
    else:
        raise CliError("say what the fault does: --error CODE, --status N or --delay-ms N")
    body: dict[str, Any] = {"endpoint": args.endpoint, "responses": [entry]}
    if args.server:
        body["server_uuid"] = args.server
    fault = _control(args).json("POST", "/faults", json=body)
    emit(fault, as_json=args.json, human=f"fault {fault['id']} added on {fault['endpoint']}")


def faults_list(args: argparse.Namespace) -> None:
    data = _control(args).json("GET", "/faults")
    lines = [f"{f['id']}  {f['endpoint']}  remaining={f['remaining']}" for f in data["faults"]]
    emit(data, as_json=args.json, human="\n".join(lines) or "(no faults)")


def faults_clear(args: argparse.Namespace) -> None:
    _control(args).call("DELETE", "/faults")
    emit({"cleared": True}, as_json=args.json, human="all faults cleared")


def journal_tail(args: argparse.Namespace) -> None:
    """Print the newest entries; with --follow keep polling for new ones."""
    control = _control(args)
    params: dict[str, Any] = {"limit": args.limit, "order": "desc"}
    if args.server:
        params["server_uuid"] = args.server
    last_id = 0
    while True:
        entries = control.json("GET", "/journal", params=params)["entries"]
        fresh = sorted((e for e in entries if int(e["id"]) > last_id), key=lambda e: int(e["id"]))
        for entry in fresh:  # --json: one object per line (JSON Lines), so `tail -f` output streams
            sys.stdout.write((json.dumps(entry) if args.json else _journal_line(entry)) + "\n")
        sys.stdout.flush()
        if fresh:
            last_id = int(fresh[-1]["id"])
        if not args.follow:
            return
        time.sleep(args.interval)


def _journal_line(entry: dict[str, Any]) -> str:
    fields = ("emulator_time", "method", "path", "status", "error_code", "server_uuid")
    return " ".join(str(entry[k]) for k in fields if entry.get(k) not in (None, ""))


def seed_load(args: argparse.Namespace) -> None:
    """POST a seed file to a running instance (relative certificate paths are inlined first)."""
    from ..seed import parse

    path = Path(args.file)
    try:
        document = parse.read_file(path)
    except parse.SeedError as exc:
        raise CliError(f"seed file {path}: {exc.message}") from None
    body = document.spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    for org in body.get("orgs", []):
        for server in org.get("mdm_servers", []):
            cert = server.get("certificate")
            if cert and not cert.lstrip().startswith("-----BEGIN"):
                cert_path = Path(cert).expanduser()
                server["certificate"] = (document.base_dir / cert_path).read_text()
    result = _control(args).json("POST", "/seed", json=body)
    lines = [f"org {o['id']} {o['name']!r}: {o['status']}" for o in result["orgs"]]
    lines.append("changed" if result["changed"] else "nothing to change")
    emit(result, as_json=args.json, human="\n".join(lines))


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the remote commands on the top-level subparsers."""
    p = commands.add_parser("seed", parents=[common], help="load a seed file into a running instance")
    p.add_argument("file", help="seed file (YAML or JSON)")
    p.set_defaults(func=seed_load)

    org = commands.add_parser("org", help="organisations").add_subparsers(dest="sub", required=True)
    p = org.add_parser("create", parents=[common], help="create an org")
    p.add_argument("name")
    p.add_argument("--email")
    p.add_argument("--type", dest="org_type", choices=["org", "edu"], default="org")
    p.set_defaults(func=org_create)
    org.add_parser("list", parents=[common], help="list orgs").set_defaults(func=org_list)

    server = commands.add_parser("server", help="MDM servers").add_subparsers(dest="sub", required=True)
    p = server.add_parser("create", parents=[common], help="create an MDM server (and download its token)")
    p.add_argument("--org", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--cert", help="the MDM's public key certificate (PEM)")
    p.add_argument("--token-out", help="write the server token (.p7m) here")
    p.set_defaults(func=server_create)
    p = server.add_parser("token", parents=[common], help="download a new server token (.p7m)")
    p.add_argument("server")
    p.add_argument("--out", required=True)
    p.set_defaults(func=server_token)

    devices = commands.add_parser("devices", help="device inventory").add_subparsers(
        dest="sub", required=True
    )
    p = devices.add_parser("generate", parents=[common], help="generate realistic devices")
    p.add_argument("--org", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--server", help="assign them to this MDM server")
    p.add_argument("--families", help="comma-separated: iPhone,iPad,Mac,AppleTV,Vision,iPod")
    p.add_argument("--order-number")
    p.add_argument("--seed", type=int)
    p.set_defaults(func=devices_generate)
    p = devices.add_parser("import", parents=[common], help="add devices from a portal-style CSV file")
    p.add_argument("--org", required=True)
    p.add_argument("--server", help="assign them to this MDM server")
    p.add_argument("file", help="CSV with a header row naming Device fields (serial_number required)")
    p.set_defaults(func=devices_import)
    p = devices.add_parser("assign", parents=[common], help="assign, move or unassign devices")
    p.add_argument("--org", required=True)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--server")
    target.add_argument("--unassign", action="store_true")
    p.add_argument("--order-number")
    p.add_argument("serials", nargs="*")
    p.set_defaults(func=devices_assign)

    clock = commands.add_parser("clock", help="the emulator clock").add_subparsers(dest="sub", required=True)
    clock.add_parser("show", parents=[common], help="current time and offset").set_defaults(func=clock_show)
    p = clock.add_parser("advance", parents=[common], help="move forward, e.g. 8d, 12h, 90s")
    p.add_argument("duration")
    p.set_defaults(func=clock_advance)

    faults = commands.add_parser("faults", help="fault injection").add_subparsers(dest="sub", required=True)
    p = faults.add_parser("add", parents=[common], help="script a fault on an endpoint")
    p.add_argument("--endpoint", required=True, help='e.g. "POST /devices/sync"')
    p.add_argument("--server")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--error", help="a named Apple error, e.g. EXPIRED_CURSOR")
    p.add_argument("--status", type=int)
    p.add_argument("--retry-after")
    p.add_argument("--delay-ms", type=int)
    p.set_defaults(func=faults_add)
    faults.add_parser("list", parents=[common], help="scripted faults").set_defaults(func=faults_list)
    faults.add_parser("clear", parents=[common], help="remove every fault").set_defaults(func=faults_clear)

    journal = commands.add_parser("journal", help="the request journal").add_subparsers(
        dest="sub", required=True
    )
    p = journal.add_parser("tail", parents=[common], help="newest requests")
    p.add_argument("--server")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--follow", "-f", action="store_true")
    p.add_argument("--interval", type=float, default=1.0)
    p.set_defaults(func=journal_tail)
