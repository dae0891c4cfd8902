"""Concurrent mixed traffic over real HTTP, shared by the concurrency test and the benchmarks.

One `Fleet` (an org, a few MDM servers, a pool of overlapping serials) and four kinds of
clients, each a coroutine with its own connection pool:
- `control_writer`: assigns, moves and unassigns random overlapping sets of devices and
  edits their attributes through the control API (as ABM's web UI does);
- `disowner`: an MDM disowning random devices through `POST /devices/disown`;
- `reprofiler`: an MDM (re-)assigning and removing DEP profiles — only when the service
  exposes `/profile/devices` (issue 4, branch `profiles`); see `profiles_available`;
- `reader`: an MDM doing what nanodep does: a full fetch, then sync until told to stop, one
  last complete sync, and the view it built from the feed alone.
Every request is timed and counted in `Stats` by endpoint (method + path) and status.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .dep_client import OAuthCredentials, dep_client

SERVER_DEVICES, SYNC, DISOWN, PROFILE, PROFILE_DEVICES = (
    "/server/devices",
    "/devices/sync",
    "/devices/disown",
    "/profile",
    "/profile/devices",
)
Transport = Callable[[], httpx.AsyncBaseTransport]


@dataclass
class Stats:
    """Latencies (seconds) per endpoint, statuses per endpoint, and transport errors by kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    async def call(
        self, client: httpx.AsyncClient, method: str, path: str, endpoint: str | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        """One request; None on a transport error (counted by its class name)."""
        name = endpoint or f"{method} {path}"
        started = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.errors[type(exc).__name__] += 1
            return None
        self.latencies[name].append(time.perf_counter() - started)
        self.statuses[(name, response.status_code)] += 1
        return response

    @property
    def served(self) -> int:
        return sum(self.statuses.values())

    def server_errors(self) -> dict[tuple[str, int], int]:
        return {k: n for k, n in self.statuses.items() if k[1] >= 500}

    def percentiles(self) -> dict[str, tuple[int, float, float]]:
        """endpoint → (requests, p50 ms, p99 ms)."""
        out = {}
        for name, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[name] = (len(ordered), _quantile(ordered, 0.50), _quantile(ordered, 0.99))
        return out

    def table(self) -> str:
        lines = [f"{'endpoint':<38} {'requests':>9} {'p50 ms':>9} {'p99 ms':>9}"]
        for name, (n, p50, p99) in self.percentiles().items():
            lines.append(f"{name:<38} {n:>9} {p50:>9.1f} {p99:>9.1f}")
        return "\n".join(lines)


def _quantile(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted seconds, in milliseconds."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class MdmHandle:
    server_uuid: str
    credentials: OAuthCredentials


@dataclass
class Fleet:
    org_id: str
    servers: list[MdmHandle]
    serials: list[str]
    # Disowned devices the control API refused to assign (observed F2: released, not added back);
    # writers leave them out from then on, so assignments keep landing.
    released: set[str] = field(default_factory=set)


async def setup_fleet(
    control: httpx.AsyncClient, *, servers: int = 3, devices: int = 60, prefix: str = "LOAD"
) -> Fleet:
    """An org with `servers` MDM servers and `devices` devices, spread over the servers."""
    org = (await control.post("/emulator/v1/orgs", json={"name": f"{prefix} org"})).json()
    handles = []
    for i in range(servers):
        made = await control.post(
            f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": f"{prefix} MDM {i}"}
        )
        uuid = made.json()["server_uuid"]
        creds = await control.post(f"/emulator/v1/mdm-servers/{uuid}/oauth-credentials")
        handles.append(MdmHandle(uuid, OAuthCredentials.from_json(creds.json())))
    serials = [f"{prefix}{i:06d}" for i in range(devices)]
    body = {"devices": [{"serial_number": s, "model": "iPhone 15"} for s in serials]}
    assert (await control.post(f"/emulator/v1/orgs/{org['id']}/devices", json=body)).status_code == 201
    for i, handle in enumerate(handles):
        share = {"server_uuid": handle.server_uuid, "serials": serials[i::servers]}
        assert (
            await control.post(f"/emulator/v1/orgs/{org['id']}/assignments", json=share)
        ).status_code == 200
    return Fleet(org["id"], handles, serials)


def mdm_client(handle: MdmHandle, base_url: str, transport: Transport) -> httpx.AsyncClient:
    client = dep_client(handle.credentials, base_url=base_url, transport=transport())
    client.timeout = httpx.Timeout(60)
    return client


async def profiles_available(control: httpx.AsyncClient) -> bool:
    """Profiles (issue 4) land separately: re-profiling joins the mix once the service has them."""
    paths = (await control.get("/openapi.json")).json().get("paths", {})
    return PROFILE_DEVICES in paths


async def control_writer(
    control: httpx.AsyncClient, fleet: Fleet, stats: Stats, rng: random.Random, running: Callable[[], bool]
) -> None:
    step = 0
    while running():
        pool = [s for s in fleet.serials if s not in fleet.released] or fleet.serials
        serials = rng.sample(pool, min(len(pool), rng.randint(1, 8)))
        if rng.random() < 0.75:
            target = rng.choice([*(s.server_uuid for s in fleet.servers), None])
            answer = await stats.call(
                control,
                "POST",
                f"/emulator/v1/orgs/{fleet.org_id}/assignments",
                "POST /emulator/v1/orgs/{org}/assignments",
                json={"server_uuid": target, "serials": serials},
            )
            if answer is not None and answer.status_code == 409:
                error = answer.json().get("error", {})
                if error.get("code") == "device_released":
                    fleet.released.update(error.get("details", {}).get("serials", []))
        else:
            await stats.call(
                control,
                "PATCH",
                f"/emulator/v1/devices/{serials[0]}",
                "PATCH /emulator/v1/devices/{serial}",
                json={"asset_tag": f"T{rng.randrange(10**6)}-{step}"},
            )
        step += 1


async def disowner(
    mdm: httpx.AsyncClient, fleet: Fleet, stats: Stats, rng: random.Random, running: Callable[[], bool]
) -> None:
    while running():
        await stats.call(mdm, "POST", DISOWN, json={"devices": rng.sample(fleet.serials, rng.randint(1, 3))})
        await asyncio.sleep(rng.uniform(0, 0.05))  # disowning is rarer than assigning


async def reprofiler(
    mdm: httpx.AsyncClient, fleet: Fleet, stats: Stats, rng: random.Random, running: Callable[[], bool]
) -> None:
    """EXTENSION POINT (issue 4): define a profile, then keep (re)assigning and removing it."""
    defined = await stats.call(
        mdm,
        "POST",
        PROFILE,
        json={"profile_name": f"load {rng.randrange(10**6)}", "url": "https://mdm.test/enroll"},
    )
    if defined is None or defined.status_code != 200:
        return
    profile_uuid = defined.json()["profile_uuid"]
    while running():
        devices = rng.sample(fleet.serials, rng.randint(1, 6))
        if rng.random() < 0.7:
            await stats.call(
                mdm, "POST", PROFILE_DEVICES, json={"profile_uuid": profile_uuid, "devices": devices}
            )
        else:
            await stats.call(mdm, "DELETE", PROFILE_DEVICES, json={"devices": devices})
        await asyncio.sleep(rng.uniform(0, 0.05))


def apply(view: dict[str, dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """What a client does with a sync page: in order, latest op_date wins, deleted removes."""
    for event in events:
        serial = event["serial_number"]
        known = view.get(serial)
        if known is not None and known.get("op_date", "") > event["op_date"]:
            continue
        if event["op_type"] == "deleted":
            view.pop(serial, None)
        else:
            view[serial] = event


def strip(device: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in device.items() if k not in ("op_type", "op_date")}


class ReaderError(AssertionError):
    pass


async def _page(stats: Stats, mdm: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await stats.call(mdm, "POST", path, json=body)
    if response is None or response.status_code != 200:
        detail = "transport error" if response is None else f"{response.status_code} {response.text}"
        raise ReaderError(f"{path} failed: {detail}")
    page: dict[str, Any] = response.json()
    return page


async def full_fetch(
    stats: Stats, mdm: httpx.AsyncClient, limit: int
) -> tuple[dict[str, dict[str, Any]], str]:
    view: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        page = await _page(
            stats, mdm, SERVER_DEVICES, {"limit": limit, **({"cursor": cursor} if cursor else {})}
        )
        view.update({d["serial_number"]: d for d in page["devices"]})
        cursor = page["cursor"]
        if not page["more_to_follow"]:
            assert cursor is not None
            return view, cursor


async def reader(
    mdm: httpx.AsyncClient, stats: Stats, done: asyncio.Event, rng: random.Random
) -> dict[str, Any]:
    """Fetch in small pages, then sync until `done`; the returned view is built from the feed only."""
    view, cursor = await full_fetch(stats, mdm, rng.choice([3, 5, 10]))
    while True:
        finished = done.is_set()  # read before syncing: one complete sync after the writers stop
        while True:
            page = await _page(stats, mdm, SYNC, {"cursor": cursor, "limit": rng.choice([2, 5, 20])})
            apply(view, page["devices"])
            cursor = page["cursor"]
            if not page["more_to_follow"]:
                break
        if finished:
            return {s: strip(d) for s, d in view.items()}
        await asyncio.sleep(rng.uniform(0, 0.02))
