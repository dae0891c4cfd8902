"""Shared staging as compose runs it (issue 33 §1): Debian's nginx with deploy/nginx.conf in front of
two `dep-emulator serve` processes on one PostgreSQL, and clients that only talk to nginx.

Which replica answered a request is read from nginx's own access log (the client's `X-Request-ID`
and `$upstream_addr`), so the round robin is nginx's, not a test transport's.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.core.config import Settings
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client
from dep_emulator.testing.load import apply, strip

from tests.proxy.conftest import ADMIN_TOKEN, Topology, topology
from tests.proxy.nginx import DEPLOYED, PEER_HEADER

REMOTE = {PEER_HEADER: "203.0.113.7"}  # a client on another machine, as nginx sees it
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_ids = itertools.count()


def next_id(prefix: str = "t33") -> str:
    return f"{prefix}-{next(_ids)}"


async def _tag(request: httpx.Request) -> None:
    """Every request a client sends carries an id of its own, so nginx's log names its replica."""
    request.headers.setdefault("X-Request-ID", next_id())


@pytest.fixture
async def control(staging: Topology, pg: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    """The control API through nginx, from another machine, with the admin token (as compose requires)."""
    async with httpx.AsyncClient(
        base_url=staging.url, headers={**BEARER, **REMOTE}, timeout=60, event_hooks={"request": [_tag]}
    ) as client:
        yield client


async def _server(control: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any], OAuthCredentials]:
    org = (await control.post("/emulator/v1/orgs", json={"name": "Staging"})).json()
    server = (
        await control.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "Staged"})
    ).json()
    response = await control.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
    assert response.status_code == 200, response.text
    return org, server, OAuthCredentials.from_json(response.json())


def _mdm(staging: Topology, credentials: OAuthCredentials) -> httpx.AsyncClient:
    client = dep_client(credentials, base_url=staging.url)
    client.timeout = httpx.Timeout(60)
    client.event_hooks = {"request": [_tag]}
    client.headers.update(REMOTE)
    return client


async def _pages(mdm: httpx.AsyncClient, path: str, body: dict[str, Any]) -> list[httpx.Response]:
    """Every page of a fetch or sync, following the cursor."""
    responses = []
    while True:
        response = await mdm.post(path, json=body)
        assert response.status_code == 200, response.text
        responses.append(response)
        page = response.json()
        body = {**body, "cursor": page["cursor"]}
        if not page["more_to_follow"]:
            return responses


async def test_a_dep_client_signs_fetches_and_syncs_through_the_proxy(
    staging: Topology, control: httpx.AsyncClient
) -> None:
    """OAuth signs against the proxy's address (DEPEMU_PUBLIC_BASE_URL); pages alternate replicas."""
    org, server, creds = await _server(control)
    serials = [f"PRXY{i:05d}" for i in range(30)]
    devices = {"devices": [{"serial_number": s, "model": "iPad"} for s in serials]}
    assert (await control.post(f"/emulator/v1/orgs/{org['id']}/devices", json=devices)).status_code == 201
    assign = {"server_uuid": server["server_uuid"], "serials": serials[:20]}
    assert (await control.post(f"/emulator/v1/orgs/{org['id']}/assignments", json=assign)).status_code == 200

    async with _mdm(staging, creds) as mdm:
        fetched = await _pages(mdm, "/server/devices", {"limit": 3})
        view = {d["serial_number"]: d for r in fetched for d in r.json()["devices"]}
        assert len(fetched) == 7 and sorted(view) == serials[:20]
        move = {"server_uuid": server["server_uuid"], "serials": serials[20:]}
        assert (
            await control.post(f"/emulator/v1/orgs/{org['id']}/assignments", json=move)
        ).status_code == 200
        assert (await mdm.post("/devices/disown", json={"devices": serials[:4]})).status_code == 200
        synced = await _pages(mdm, "/devices/sync", {"cursor": fetched[-1].json()["cursor"], "limit": 2})
        for response in synced:
            apply(view, response.json()["devices"])
        truth = {
            d["serial_number"]: d
            for r in await _pages(mdm, "/server/devices", {"limit": 1000})
            for d in r.json()["devices"]
        }
    assert {s: strip(d) for s, d in view.items()} == truth and sorted(truth) == serials[4:]
    # nginx's round robin: each page was served by the other replica than the page before it
    for pages in (fetched, synced):
        served = [staging.proxy.served_by(r.request.headers["X-Request-ID"]) for r in pages]
        assert len(pages) > 2 and all(a != b for a, b in itertools.pairwise(served)), served


async def test_a_clients_request_id_passes_through(staging: Topology, control: httpx.AsyncClient) -> None:
    """README: every response carries `X-Request-ID`, "yours, if you sent one" (nginx's otherwise)."""
    for _ in range(2):  # both replicas
        mine = next_id("trace-from-client")
        response = await control.get("/emulator/v1/clock", headers={"X-Request-ID": mine})
        assert response.status_code == 200 and response.headers["X-Request-ID"] == mine
    async with httpx.AsyncClient() as plain:
        anonymous = await plain.get(f"{staging.url}/healthz")
    generated = anonymous.headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0  # nginx's $request_id, passed on
    # ... and the replica logged the request under the client's id
    logs = "".join(replica.log() for replica in staging.replicas)
    assert f'"request_id": "{mine}"' in logs


async def test_the_admin_token_guards_the_control_api_behind_the_proxy(
    staging: Topology, pg: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=staging.url, timeout=30) as client:
        for _ in range(2):  # both replicas
            for headers in ({}, REMOTE, {**REMOTE, "Authorization": "Bearer wrong"}):
                refused = await client.get("/emulator/v1/orgs", headers=headers)
                assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
            assert (await client.get("/emulator/v1/orgs", headers={**REMOTE, **BEARER})).status_code == 200


async def test_the_loopback_rule_behind_the_proxy_refuses_remote_and_spoofed_clients(
    database_url: str, pg: asyncpg.Connection
) -> None:
    """Without DEPEMU_ADMIN_TOKEN only loopback clients may call the control API. Behind nginx the
    client is the one nginx saw (X-Forwarded-For from the trusted proxy), and a remote client's own
    X-Forwarded-For claiming loopback is not believed."""
    with topology(database_url, admin_token=None) as local:
        async with httpx.AsyncClient(base_url=local.url, timeout=30) as client:
            for _ in range(2):  # both replicas
                assert (await client.get("/emulator/v1/orgs")).status_code == 200  # on this machine
                remote = await client.get("/emulator/v1/orgs", headers=REMOTE)
                assert remote.status_code == 403 and remote.json()["error"]["code"] == "forbidden"
                for spoofed in ("127.0.0.1", "::1", "127.0.0.1, 127.0.0.1"):
                    forged = await client.get(
                        "/emulator/v1/orgs", headers={**REMOTE, "X-Forwarded-For": spoofed}
                    )
                    assert forged.status_code == 403, spoofed


def _csv_rows(count: int) -> list[bytes]:
    """A portal CSV of `count` devices with every text field filled, about 390 bytes a row."""
    description, asset = "D" * 200, "A" * 120
    header = b"serial_number,model,description,color,asset_tag,order_number\n"
    return [header] + [
        f"BIGCSV{i:06d},iPhone 15 Pro,{description},Black Titanium,{asset},ORD-33-{i // 1000}\n".encode()
        for i in range(count)
    ]


async def test_a_csv_larger_than_the_body_limit_streams_through_the_proxy(
    staging: Topology, control: httpx.AsyncClient
) -> None:
    """The documented way to import a large device list: a CSV upload, streamed by nginx and the replica.

    24 MB is above nginx's general body limit (20 MB) and the service's (DEPEMU_MAX_BODY_BYTES,
    10 MB), which the import route does not apply: it reads the rows as they arrive.
    """
    org, server, _ = await _server(control)
    rows = _csv_rows(62_000)
    size = sum(len(r) for r in rows)
    assert size > 20 * 1024 * 1024 > Settings().max_body_bytes

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(rows), 2000):
            yield b"".join(rows[start : start + 2000])

    response = await control.post(
        f"/emulator/v1/orgs/{org['id']}/devices",
        params={"server_uuid": server["server_uuid"]},
        content=body(),
        headers={"Content-Type": "text/csv"},
        timeout=600,  # 62,000 rows on a shared 2-core machine: a bound, not a measure
    )
    assert response.status_code == 201, response.text[:500]
    assert response.json()["count"] == 62_000
    # streamed: nginx passed the body on as it came instead of spooling it to a file first
    assert "buffered to a temporary file" not in staging.proxy.error_log()


async def _load(mdm: httpx.AsyncClient, control: httpx.AsyncClient, rounds: int) -> list[httpx.Response]:
    """DEP fetches (POST), DEP account reads (GET) and control-API reads, three at a time."""
    responses: list[httpx.Response] = []
    for _ in range(rounds):
        responses += await asyncio.gather(
            mdm.post("/server/devices", json={"limit": 5}),
            mdm.get("/account"),
            control.get("/emulator/v1/clock"),
        )
    return responses


async def _until_fired(fault_url: str, count: int) -> None:
    """Until the fault has fired `count` times: the delayed requests are then in flight, asleep."""
    async with httpx.AsyncClient(headers=BEARER) as direct:
        for _ in range(600):
            if (await direct.get(fault_url)).json()["fired"] >= count:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the delayed requests never reached a replica")


async def test_a_replica_stopped_mid_run_loses_no_answered_request(
    database_url: str, pg: asyncpg.Connection
) -> None:
    """SIGTERM to one replica while a request is in flight on each and clients keep sending: every
    request is answered (the stopping replica drains its own; nginx sends new ones to the other)."""
    with topology(database_url) as staged:
        async with httpx.AsyncClient(
            base_url=staged.url, headers={**BEARER, **REMOTE}, timeout=60, event_hooks={"request": [_tag]}
        ) as control:
            _, _, creds = await _server(control)
            async with _mdm(staged, creds) as mdm:
                before = await _load(mdm, control, 2)  # sessions open, connections pooled on both
                fault = {"endpoint": "GET /account", "responses": [{"count": 2, "delay_ms": 3000}]}
                created = await control.post("/emulator/v1/faults", json=fault)
                assert created.status_code == 201, created.text
                slow = [asyncio.create_task(mdm.get("/account")) for _ in range(2)]  # one on each replica
                fired = f"{staged.replicas[1].url}/emulator/v1/faults/{created.json()['id']}"
                await _until_fired(fired, 2)
                stopping = staged.replicas[0]
                stopping.process.send_signal(signal.SIGTERM)
                during = await _load(mdm, control, 10)
                answered = await asyncio.gather(*slow)
                assert await asyncio.to_thread(stopping.process.wait, 40) in (0, -signal.SIGTERM)
                after = await _load(mdm, control, 4)
        assert [r.status_code for r in answered] == [200, 200]
        assert {staged.proxy.served_by(r.request.headers["X-Request-ID"]) for r in answered} == {0, 1}
        for responses in (before, during, after):
            assert [r.status_code for r in responses] == [200] * len(responses)
        assert {staged.proxy.served_by(r.request.headers["X-Request-ID"]) for r in before} == {0, 1}
        assert {staged.proxy.served_by(r.request.headers["X-Request-ID"]) for r in after} == {1}


def _directive(conf: str, name: str) -> str | None:
    """The value of the one `name ...;` line in `conf` (None when absent)."""
    lines = [line.strip().rstrip(";") for line in conf.splitlines() if line.strip().startswith(name + " ")]
    assert len(lines) <= 1, lines
    return lines[0].removeprefix(name).strip() if lines else None


def test_keep_alive_settings_of_nginx_and_the_service_agree() -> None:
    """README: keep DEPEMU_KEEP_ALIVE_SECONDS above the proxy's idle timeout for upstream connections,
    or a request nginx sends on a connection the replica is closing at that instant is reset."""
    conf = DEPLOYED.read_text()
    assert _directive(conf, "keepalive") is not None  # nginx keeps upstream connections open...
    idle = _directive(conf, "keepalive_timeout")
    assert idle is not None and idle.endswith("s")  # ...for this long (nginx's default: 60 s)...
    assert int(idle.removesuffix("s")) < Settings().keep_alive_seconds  # ...shorter than the replicas do
    assert _directive(conf, "proxy_set_header Connection") == '""'  # HTTP/1.1 keep-alive upstream
