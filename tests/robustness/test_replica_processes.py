"""Two `dep-emulator serve` processes on one database, a client alternating on every request (issue 8 §3),
and the same checks against one `serve --workers 2` (issue 15).

Everything that must hold across replicas lives in PostgreSQL; these tests prove it with
real processes (separate interpreters, separate pools) rather than two apps in one loop.
Each client below goes through `AlternatingTransport`, so consecutive requests — the
`/session` call and the first use of its token, a fetch page and the next — land on
different processes: two replicas, or the two workers behind one port (one connection held
to each worker: `worker_transports`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client, sign_session_request
from dep_emulator.testing.load import apply, strip
from dep_emulator.testing.replicas import PUBLIC_BASE_URL, AlternatingTransport, Replica, worker_transports

UA = {"User-Agent": "fleetdm/nanodep", "X-Server-Protocol-Version": "10"}


Balancer = Callable[[], Awaitable[AlternatingTransport]]


@pytest.fixture(params=["replicas", "workers"])
def balancer(request: pytest.FixtureRequest) -> Balancer:
    """New alternating transports: over two `serve` processes, or over the two workers of one."""
    if request.param == "replicas":
        pair: list[Replica] = request.getfixturevalue("pair")
        return lambda: _replicas(pair)
    served: Replica = request.getfixturevalue("two_workers")
    return lambda: _workers(served)


async def _replicas(pair: list[Replica]) -> AlternatingTransport:
    return AlternatingTransport([r.url for r in pair])


async def _workers(served: Replica) -> AlternatingTransport:
    return AlternatingTransport([served.url] * 2, await worker_transports(served, 2))


@pytest.fixture
async def control(balancer: Balancer, pg: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    """The control API through the alternating balancer (tables are emptied after each test by `pg`)."""
    transport = await balancer()
    async with httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport, timeout=30) as c:
        yield c
    assert set(transport.sent) == {0, 1}


async def _server(control: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any], OAuthCredentials]:
    org = (await control.post("/emulator/v1/orgs", json={"name": "Replicated"})).json()
    server = (
        await control.post(f"/emulator/v1/orgs/{org['id']}/mdm-servers", json={"server_name": "S"})
    ).json()
    response = await control.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")
    assert response.status_code == 200, response.text
    return org, server, OAuthCredentials.from_json(response.json())


async def _alternating_mdm(balancer: Balancer, credentials: OAuthCredentials) -> httpx.AsyncClient:
    transport = await balancer()
    client = dep_client(credentials, base_url=PUBLIC_BASE_URL, transport=transport)
    client.timeout = httpx.Timeout(30)
    return client


async def _session(client: httpx.AsyncClient, credentials: OAuthCredentials, **sign: Any) -> httpx.Response:
    header = sign_session_request(credentials, f"{PUBLIC_BASE_URL}/session", **sign)
    return await client.get("/session", headers={**UA, "Authorization": header})


async def test_sessions_nonces_timestamps_and_the_clock(control: httpx.AsyncClient) -> None:
    _, server, creds = await _server(control)
    header = sign_session_request(creds, f"{PUBLIC_BASE_URL}/session", nonce="n-replicated-1")
    opened = await control.get("/session", headers={**UA, "Authorization": header})  # replica X
    assert opened.status_code == 200, opened.text
    token = opened.json()["auth_session_token"]
    used = [await control.get("/account", headers={**UA, "X-ADM-Auth-Session": token}) for _ in range(2)]
    assert [r.json()["server_uuid"] for r in used] == [server["server_uuid"]] * 2  # both replicas
    for _ in range(2):  # the used nonce is refused by both
        replay = await control.get("/session", headers={**UA, "Authorization": header})
        assert (replay.status_code, replay.text) == (401, "oauth_problem=nonce_used")
    for _ in range(2):  # a timestamp outside the window (600 s) is refused by both
        stale = await _session(control, creds, timestamp=str(int(time.time()) - 3600))
        assert (stale.status_code, stale.text) == (401, "oauth_problem=timestamp_refused")

    # the same fresh nonce sent to both replicas at once: exactly one session
    racing = sign_session_request(creds, f"{PUBLIC_BASE_URL}/session", nonce="n-racing")
    raced = await asyncio.gather(
        *(control.get("/session", headers={**UA, "Authorization": racing}) for _ in range(6))
    )
    assert Counter(r.status_code for r in raced) == {200: 1, 401: 5}

    # the clock, moved through one replica, rotates the session on the other; the old token keeps
    # working for the grace period everywhere, then the session expires everywhere
    advanced = await control.post("/emulator/v1/clock", json={"advance_seconds": 400})
    assert (await control.get("/emulator/v1/clock")).json()["offset_seconds"] == advanced.json()[
        "offset_seconds"
    ]
    rotated = await control.get("/account", headers={**UA, "X-ADM-Auth-Session": token})
    new_token = rotated.headers["X-ADM-Auth-Session"]
    assert rotated.status_code == 200 and new_token != token
    for candidate in (token, new_token):
        assert (
            await control.get("/account", headers={**UA, "X-ADM-Auth-Session": candidate})
        ).status_code == 200
    await control.post("/emulator/v1/clock", json={"advance_seconds": 3600})
    for candidate in (token, new_token):
        expired = await control.get("/account", headers={**UA, "X-ADM-Auth-Session": candidate})
        assert (expired.status_code, expired.text) == (401, "UNAUTHORIZED")


async def test_cursors_hand_over_between_replicas(balancer: Balancer, control: httpx.AsyncClient) -> None:
    org, server, creds = await _server(control)
    serials = [f"REPL{i:05d}" for i in range(30)]
    devices = [{"serial_number": s, "model": "iPad"} for s in serials]
    assert (
        await control.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": devices})
    ).status_code == 201
    assign = {"server_uuid": server["server_uuid"], "serials": serials[:20]}
    assert (await control.post(f"/emulator/v1/orgs/{org['id']}/assignments", json=assign)).status_code == 200

    async with await _alternating_mdm(balancer, creds) as mdm:
        view: dict[str, dict[str, Any]] = {}
        cursor, pages = None, 0
        while True:  # fetch in pages of 3: page n on one replica, page n+1 on the other
            response = await mdm.post(
                "/server/devices", json={"limit": 3, **({"cursor": cursor} if cursor else {})}
            )
            assert response.status_code == 200, response.text
            page = response.json()
            view.update({d["serial_number"]: d for d in page["devices"]})
            cursor, pages = page["cursor"], pages + 1
            if not page["more_to_follow"]:
                break
        assert pages == 7 and sorted(view) == serials[:20]
        # changes, then sync in pages of 2 across both replicas
        move = {"server_uuid": server["server_uuid"], "serials": serials[20:]}
        assert (
            await control.post(f"/emulator/v1/orgs/{org['id']}/assignments", json=move)
        ).status_code == 200
        disowned = await mdm.post("/devices/disown", json={"devices": serials[:4]})
        assert disowned.status_code == 200, disowned.text
        while True:
            response = await mdm.post("/devices/sync", json={"cursor": cursor, "limit": 2})
            assert response.status_code == 200, response.text
            page = response.json()
            apply(view, page["devices"])
            cursor = page["cursor"]
            if not page["more_to_follow"]:
                break
        truth: dict[str, dict[str, Any]] = {}
        fetch_cursor = None
        while True:
            response = await mdm.post(
                "/server/devices", json={"limit": 1000, **({"cursor": fetch_cursor} if fetch_cursor else {})}
            )
            page = response.json()
            truth.update({d["serial_number"]: d for d in page["devices"]})
            fetch_cursor = page["cursor"]
            if not page["more_to_follow"]:
                break
        assert {s: strip(d) for s, d in view.items()} == truth
        assert sorted(truth) == serials[4:]
        assert set(mdm._transport.sent) == {0, 1}  # type: ignore[attr-defined]


async def test_budgets_and_fault_scripts_are_shared(balancer: Balancer, control: httpx.AsyncClient) -> None:
    org, _, creds = await _server(control)
    rules = {"overrides": {"budgets": {"account": {"requests": 5, "per_seconds": 3600}}}}
    assert (await control.put(f"/emulator/v1/orgs/{org['id']}/traffic-rules", json=rules)).status_code == 200
    opened = await _session(control, creds)
    token = opened.json()["auth_session_token"]
    statuses = [
        (await control.get("/account", headers={**UA, "X-ADM-Auth-Session": token})).status_code
        for _ in range(8)
    ]
    assert statuses == [200] * 5 + [429] * 3

    assert (await control.put(f"/emulator/v1/orgs/{org['id']}/traffic-rules", json={})).status_code == 200
    fault = {
        "endpoint": "POST /devices/sync",
        "responses": [{"count": 3, "error": "EXPIRED_CURSOR"}, {"count": 1, "status": 503}],
    }
    created = await control.post("/emulator/v1/faults", json=fault)
    assert created.status_code == 201, created.text
    async with await _alternating_mdm(balancer, creds) as mdm:
        bodies = [
            (r.status_code, r.text)
            for r in [await mdm.post("/devices/sync", json={"cursor": "x"}) for _ in range(5)]
        ]
    assert bodies[:4] == [(400, "EXPIRED_CURSOR")] * 3 + [(503, "")]
    assert bodies[4] == (400, "INVALID_CURSOR")  # the script is spent: the real answer
    state = (await control.get(f"/emulator/v1/faults/{created.json()['id']}")).json()
    assert (state["fired"], state["remaining"], state["exhausted"]) == (4, 0, True)


def test_serve_keeps_idle_connections_longer_than_client_pools_do(pair: list[Replica]) -> None:
    """A pooled connection left idle for 6 s is still served (uvicorn alone closes it after 5 s).

    Were the server's idle timeout equal to the client pool's (httpx: 5 s), a request sent on
    a connection at the instant the server closes it is reset: the ReadError a loaded
    50-client run once hit. `DEPEMU_KEEP_ALIVE_SECONDS` (default 75) keeps the server side longer.
    """
    host, port = pair[0].url.removeprefix("http://").split(":")
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for pause in (6, 0):
            sock.sendall(request)
            assert _read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(pause)


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (head and Content-Length body), however the bytes arrive."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed by the server after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    assert len(body) == length, "more bytes than one response"
    return head
