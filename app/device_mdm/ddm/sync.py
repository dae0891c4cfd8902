"""The device's DDM sync over the check-in channel (device-2026.md §3.2, §3.3, §3.5).

Each DDM request is a check-in message `{MessageType: DeclarativeManagement, Endpoint, UDID}`
(plus `Data` for `status`) PUT to CheckInURL, signed like every check-in. The answers are JSON;
no Content-Type is required (NanoMDM passes bodies through without one). The algorithm:
the token from the command (else `tokens`); equal to the kept one → stop; else
`declaration-items`, fetch every unknown or changed declaration (`declaration/{kind}/{id}`), drop
the ones gone from the manifest or answered 404, apply, report status. Any other failure (a 5xx,
no answer, JSON that is not a manifest) is a failed sync: nothing changes, the reason is kept.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from cryptography import x509

from ...attestation.attestor import Attestor
from ...clock import service as clock
from .. import transport
from ..commands import Facts
from ..enrollment import user_agent
from . import credentials
from . import status as items
from .apply import Device, Fetched, apply
from .session import SYNC_WITHOUT_TOKEN, DdmSession

_KIND_OF_ARRAY = {
    "Activations": "activation",
    "Configurations": "configuration",
    "Assets": "asset",
    "Management": "management",
}
MAX_IDENTIFIER = 64


class SyncFailed(Exception):
    """The sync stopped; the message says why in words."""


@dataclass
class Channel:
    client: httpx.AsyncClient
    url: str
    identity: transport.Identity
    sign: bool
    facts: Facts
    anchors: list[x509.Certificate]
    timeout_seconds: float
    attestor: Attestor | None = None  # for ACME credential assets (ddm/credentials.py)
    steps: list[dict[str, Any]] = field(default_factory=list)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _fetcher: httpx.AsyncClient | None = None

    async def check_in(self, endpoint: str, data: bytes | None = None) -> tuple[int | None, bytes]:
        """One DDM check-in; (status, body); SyncFailed when no answer came."""
        message: dict[str, Any] = {
            "MessageType": "DeclarativeManagement",
            "Endpoint": endpoint,
            "UDID": self.facts.udid,
        }
        if data is not None:
            message["Data"] = data
        sent, answer = await transport.put_plist(
            self.client,
            self.url,
            message,
            content_type=transport.CHECKIN,
            identity=self.identity,
            sign=self.sign,
            user_agent=user_agent(self.facts),
        )
        step = "ddm." + endpoint.split("/")[0]
        record = {
            "wall_at": clock.wall_now(),
            "step": step,
            "url": self.url,
            "status": answer.status,
            "ok": answer.error is None and answer.status == 200,
            "detail": endpoint,
            "command_uuid": None,
            "sent": sent.decode(),
            "answered": transport.printable(answer.body),
        }
        self.steps.append(record)
        if answer.error is not None:
            record["detail"] = f"{endpoint}: {answer.error}"
            raise SyncFailed(f"{endpoint}: {answer.error}")
        if answer.status not in (200, 404):
            record["detail"] = f"{endpoint}: {transport.status_reason(answer)}"
            raise SyncFailed(record["detail"])
        return answer.status, answer.body

    async def fetch(self, step: str, url: str) -> Fetched:
        """GET an asset or legacy profile with the MDM identity as TLS client certificate."""
        if self._fetcher is None:
            self._fetcher = await self._stack.enter_async_context(
                transport.mdm_client(
                    self.identity, self.anchors, client_certificate=True, timeout_seconds=self.timeout_seconds
                )
            )
        record: dict[str, Any] = {
            "wall_at": clock.wall_now(),
            "step": step,
            "url": url,
            "status": None,
            "ok": False,
            "detail": None,
            "command_uuid": None,
            "sent": None,
            "answered": None,
        }
        self.steps.append(record)
        try:
            response = await self._fetcher.get(url, headers={"User-Agent": user_agent(self.facts)})
        except httpx.HTTPError as exc:
            record["detail"] = f"{type(exc).__name__}: {exc}"
            return Fetched(None, b"", None, record["detail"])
        record |= {
            "status": response.status_code,
            "ok": response.status_code == 200,
            "answered": transport.printable(response.content, 2000),
        }
        return Fetched(response.status_code, response.content, response.headers.get("content-type"), None)

    async def credential_identity(
        self, asset_type: str, credential: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, str | None, bool]:
        """A credential asset's identity (ddm/credentials.py), the exchange's steps recorded."""
        return await credentials.obtain(
            asset_type,
            credential,
            anchors=self.anchors,
            attestor=self.attestor,
            timeout_seconds=self.timeout_seconds,
            steps=self.steps,
        )

    async def close(self) -> None:
        await self._stack.aclose()


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SyncFailed(f"{what}: the answer is not JSON") from exc


def _manifest(document: Any) -> tuple[str, dict[str, tuple[str, str]]]:
    """(DeclarationsToken, {Identifier: (kind, ServerToken)}) of a DeclarationItemsResponse."""
    if not isinstance(document, dict) or not isinstance(document.get("Declarations"), dict):
        raise SyncFailed("declaration-items: the answer is not a DeclarationItemsResponse")
    token = document.get("DeclarationsToken")
    if not isinstance(token, str):
        raise SyncFailed("declaration-items: no DeclarationsToken")
    manifest: dict[str, tuple[str, str]] = {}
    for array, kind in _KIND_OF_ARRAY.items():
        listed = document["Declarations"].get(array)
        if not isinstance(listed, list):
            raise SyncFailed(
                f"declaration-items: Declarations.{array} is missing (all four arrays are required)"
            )
        for item in listed:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("Identifier"), str)
                or not isinstance(item.get("ServerToken"), str)
            ):
                raise SyncFailed(f"declaration-items: an entry of {array} has no Identifier or ServerToken")
            manifest[item["Identifier"]] = (kind, item["ServerToken"])
    return token, manifest


def _declaration(kind: str, identifier: str, token: str, body: bytes) -> dict[str, Any]:
    """A fetched declaration as the device keeps it (`problem` when it cannot be read)."""
    held: dict[str, Any] = {"kind": kind, "type": None, "server_token": token, "payload": None}
    try:
        document = json.loads(body)
    except ValueError:
        return held | {"problem": "the declaration is not JSON"}
    if not isinstance(document, dict) or not isinstance(document.get("Type"), str):
        return held | {"problem": "the declaration has no Type"}
    held["type"] = document["Type"]
    if not isinstance(document.get("Payload"), dict):
        return held | {"problem": "the declaration has no Payload dictionary"}
    if document.get("Identifier") != identifier:
        return held | {"problem": f"the declaration's Identifier is not {identifier!r}"}
    if document["Type"].split(".")[2:3] != [kind]:
        return held | {"problem": f"a {document['Type']} is not a {kind} declaration"}
    return held | {"payload": document["Payload"]}


async def _fetch_all(
    channel: Channel, ddm: DdmSession, manifest: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    declarations: dict[str, Any] = {}
    for identifier, (kind, token) in manifest.items():
        held = ddm.declarations.get(identifier)
        if held is not None and held["server_token"] == token and held["kind"] == kind:
            declarations[identifier] = held
            continue
        if len(identifier.encode()) > MAX_IDENTIFIER:
            declarations[identifier] = {
                "kind": kind,
                "type": None,
                "server_token": token,
                "payload": None,
                "problem": "the Identifier is longer than 64 octets",
            }
            continue
        status, body = await channel.check_in(f"declaration/{kind}/{quote(identifier, safe='')}")
        if status == 404:
            continue  # gone: removed
        declarations[identifier] = _declaration(kind, identifier, token, body)
    return declarations


async def run(channel: Channel, ddm: DdmSession, profiles: list[dict[str, Any]]) -> None:
    """Sync once for this poll's requests (the last token asked for wins), then report status (a
    full report when one is due); the outcome in ddm.last_sync."""
    ddm.changed = True
    try:
        if ddm.requests:
            asked = ddm.requests[-1]
            ddm.requests.clear()
            ddm.last_sync = {"outcome": "unchanged", "fetched": 0, "removed": 0, "problem": None}
            ddm.last_sync |= await _sync(channel, ddm, profiles, asked)
        elif ddm.renewal_due:  # no sync asked for: the held declarations applied again
            ddm.last_sync = {"outcome": "renewed", "fetched": 0, "removed": 0, "problem": None}
            await _apply(channel, ddm, profiles, ddm.declarations)
        await send_status(channel, ddm, full=ddm.full_report_due)
        ddm.full_report_due = False
    except SyncFailed as exc:
        ddm.last_sync = {"outcome": "failed", "fetched": 0, "removed": 0, "problem": str(exc)}
    finally:
        await channel.close()


async def _sync(
    channel: Channel, ddm: DdmSession, profiles: list[dict[str, Any]], token: str
) -> dict[str, Any]:
    """§3.3's algorithm; what changed (SyncFailed: nothing did)."""
    if token == SYNC_WITHOUT_TOKEN:
        _, body = await channel.check_in("tokens")
        document = _json(body, "tokens")
        tokens = document.get("SyncTokens") if isinstance(document, dict) else None
        fetched = tokens.get("DeclarationsToken") if isinstance(tokens, dict) else None
        if not isinstance(fetched, str):
            raise SyncFailed("tokens: the answer has no SyncTokens.DeclarationsToken")
        token = fetched
    if token == ddm.declarations_token:
        return {}
    _, body = await channel.check_in("declaration-items")
    new_token, manifest = _manifest(_json(body, "declaration-items"))
    fetched_before = len(channel.steps)
    declarations = await _fetch_all(channel, ddm, manifest)
    outcome = {
        "outcome": "applied",
        "fetched": sum(1 for s in channel.steps[fetched_before:] if s["step"] == "ddm.declaration"),
        "removed": len(set(ddm.declarations) - set(declarations)),
    }
    await _apply(channel, ddm, profiles, declarations)
    ddm.declarations_token = new_token
    return outcome


async def _apply(
    channel: Channel, ddm: DdmSession, profiles: list[dict[str, Any]], declarations: dict[str, Any]
) -> None:
    device = Device(
        _values(channel.facts, {}, {}),
        profiles,
        ddm.assets,
        ddm.legacy_profiles,
        obtain=channel.credential_identity,
        now=ddm.now,
    )
    ddm.status = await apply(declarations, device, channel.fetch)
    ddm.declarations = declarations


def _values(facts: Facts, declarations: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    values = items.values(facts)
    values["management.declarations"] = items.declarations_item(declarations, status)
    return values


def subscriptions(ddm: DdmSession) -> set[str]:
    names: set[str] = set()
    for identifier, held in ddm.declarations.items():
        if held["type"] == "com.apple.configuration.management.status-subscriptions" and ddm.status.get(
            identifier, {}
        ).get("active"):
            for entry in held["payload"].get("StatusItems") or []:
                if isinstance(entry, dict) and isinstance(entry.get("Name"), str):
                    names.add(entry["Name"])
    return names


async def send_status(channel: Channel, ddm: DdmSession, *, full: bool) -> None:
    """Send a status report if anything changed since the last one (or a full one)."""
    current = _values(channel.facts, ddm.declarations, ddm.status)
    body, reported = items.report(current, ddm.reported, subscribed=subscriptions(ddm), full=full)
    if body is None:
        return
    status, _ = await channel.check_in("status", json.dumps(body, separators=(",", ":")).encode())
    if status != 200:
        raise SyncFailed("status: the MDM answered 404")
    ddm.reported, ddm.last_report = reported, body
    ddm.reports_sent += 1
    ddm.full_sent = ddm.full_sent or full
    ddm.last_report_at = clock.wall_now()
