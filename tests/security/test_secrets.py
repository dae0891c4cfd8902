"""Secrets never leave the service where they should not (issue 8 §5).

A real `dep-emulator serve` process at DEBUG with an admin token configured, driven through a
full flow over HTTP — control API, OAuth session, DEP calls and their errors, faults, budget
refusals, the ABM token endpoint (form and query-string styles) and ABM reads — then every
secret the flow handled is searched for in the process output, the request journal (table
and API), every error body, and (for the hashed-at-rest ones) every row of every table.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from dep_emulator.models import Base
from dep_emulator.testing.dep_client import OAuthCredentials, sign_session_request
from dep_emulator.testing.replicas import PUBLIC_BASE_URL, AlternatingTransport, Replica, spawn_replica

from tests.conftest import make_certificate

UA = {"User-Agent": "fleetdm/nanodep", "X-Server-Protocol-Version": "10"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Recorder:
    """Every response the flow got, so error bodies can be searched too."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    async def hook(self, response: httpx.Response) -> None:
        await response.aread()
        self.responses.append(response)

    def error_bodies(self) -> str:
        return "\n".join(
            f"{r.status_code} {r.headers} {r.text}" for r in self.responses if r.status_code >= 400
        )


@pytest.fixture
async def debug_replica(database_url: str, pg: asyncpg.Connection) -> AsyncIterator[tuple[Replica, str]]:
    admin_token = secrets.token_urlsafe(32)
    replica = spawn_replica(
        database_url, env={"DEPEMU_LOG_LEVEL": "DEBUG", "DEPEMU_ADMIN_TOKEN": admin_token}
    )
    try:
        yield replica, admin_token
    finally:
        replica.terminate()


def _assertion(client_id: str, key_id: str, private_key_pem: str) -> str:
    now = int(time.time())
    claims = {"sub": client_id, "iss": client_id, "aud": "https://account.apple.com/auth/oauth2/v2/token",
              "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}  # fmt: skip
    return jwt.encode(claims, private_key_pem, algorithm="ES256", headers={"kid": key_id})


async def test_no_secret_in_logs_journal_or_error_bodies(
    debug_replica: tuple[Replica, str], pg: asyncpg.Connection
) -> None:
    replica, admin_token = debug_replica
    recorder = Recorder()
    found: dict[str, str] = {"admin token": admin_token}
    at_rest: dict[str, str] = {"admin token": admin_token}
    hooks: dict[str, Any] = {"response": [recorder.hook]}
    transport = AlternatingTransport([replica.url])
    bearer = {"Authorization": f"Bearer {admin_token}"}
    async with (
        httpx.AsyncClient(
            base_url=PUBLIC_BASE_URL, transport=transport, headers=bearer, event_hooks=hooks
        ) as c,
        httpx.AsyncClient(base_url=PUBLIC_BASE_URL, transport=transport, event_hooks=hooks) as anon,
    ):
        # control API: refused without or with a wrong token, and the refusal echoes nothing
        assert (await anon.get("/emulator/v1/orgs")).status_code == 401
        near_miss = {"Authorization": f"Bearer {admin_token[:-2]}xx"}
        assert (await anon.get("/emulator/v1/orgs", headers=near_miss)).status_code == 401
        assert (
            await anon.get("/emulator/v1/orgs", headers={"Authorization": admin_token})
        ).status_code == 401
        org = (await c.post("/emulator/v1/orgs", json={"name": "Secretive"})).json()
        certificate, _ = make_certificate()
        server = (
            await c.post(
                f"/emulator/v1/orgs/{org['id']}/mdm-servers",
                json={"server_name": "S", "certificate_pem": certificate.decode()},
            )
        ).json()
        assert (await c.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/token")).status_code == 200
        creds = OAuthCredentials.from_json(
            (await c.post(f"/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials")).json()
        )
        found |= {"consumer secret": creds.consumer_secret, "access secret": creds.access_secret,
                  "access token": creds.access_token}  # fmt: skip
        devices = [{"serial_number": f"SEC{i}", "model": "Mac"} for i in range(3)]
        await c.post(f"/emulator/v1/orgs/{org['id']}/devices", json={"devices": devices})
        assign = {"server_uuid": server["server_uuid"], "serials": ["SEC0", "SEC1", "SEC2"]}
        await c.post(f"/emulator/v1/orgs/{org['id']}/assignments", json=assign)
        budget = {"overrides": {"budgets": {"account": {"requests": 2, "per_seconds": 60}}}}
        await c.put(f"/emulator/v1/orgs/{org['id']}/traffic-rules", json=budget)
        await c.post(
            "/emulator/v1/faults", json={"endpoint": "POST /devices", "responses": [{"status": 500}]}
        )

        # DEP: a session, its use, and every kind of refusal
        authorization = sign_session_request(creds, f"{PUBLIC_BASE_URL}/session")
        found["authorization header"] = authorization
        found["oauth signature"] = authorization.split('oauth_signature="')[1].split('"')[0]
        opened = await anon.get("/session", headers={**UA, "Authorization": authorization})
        token = opened.json()["auth_session_token"]
        found["session token"] = at_rest["session token"] = token
        assert (await anon.get("/session", headers={**UA, "Authorization": authorization})).status_code == 401
        forged = OAuthCredentials(creds.consumer_key, "CS_wrong", creds.access_token, creds.access_secret)
        bad = sign_session_request(forged, f"{PUBLIC_BASE_URL}/session")
        assert (await anon.get("/session", headers={**UA, "Authorization": bad})).status_code == 401
        session = {**UA, "X-ADM-Auth-Session": token}
        for _ in range(3):  # two inside the budget, one refused
            await anon.get("/account", headers=session)
        fetched = await anon.post("/server/devices", headers=session, json={"limit": 2})
        await anon.post("/devices/sync", headers=session, json={"cursor": fetched.json()["cursor"]})
        await anon.post("/devices/sync", headers=session, json={"cursor": "garbage"})
        await anon.post("/devices", headers=session, json={"devices": ["SEC0"]})  # the 500 fault
        await anon.post("/devices", headers=session, content=b"{not json")
        await anon.post("/devices/disown", headers=session, json={"devices": ["SEC2"]})
        await anon.get("/account", headers={**UA, "X-ADM-Auth-Session": admin_token})  # wrong secret there
        await anon.get("/account", headers={**UA, "X-ADM-Auth-Session": token + "x"})

        # ABM: an API account (private key handed out once), tokens by form and by query string
        account = (
            await c.post(f"/emulator/v1/orgs/{org['id']}/api-accounts", json={"private_key_format": "pkcs8"})
        ).json()
        private_key = account["private_key_pem"]
        found["api-account private key"] = at_rest["api-account private key"] = private_key
        found["private key body"] = at_rest["private key body"] = private_key.splitlines()[1]
        abm_tokens = []
        for style in ("data", "params"):
            assertion = _assertion(account["client_id"], account["key_id"], private_key)
            found[f"client assertion ({style})"] = assertion
            params = {"grant_type": "client_credentials", "client_id": account["client_id"],
                      "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion,
                      "scope": account["scope"]}  # fmt: skip
            issued = await anon.post("/auth/oauth2/v2/token", **{style: params})
            assert issued.status_code == 200, issued.text
            abm_tokens.append(issued.json()["access_token"])
            replayed = await anon.post("/auth/oauth2/v2/token", **{style: {**params, "scope": "nope"}})
            assert replayed.status_code == 400
        for i, abm_token in enumerate(abm_tokens):
            found[f"abm bearer {i}"] = at_rest[f"abm bearer {i}"] = abm_token
            assert (
                await anon.get("/v1/orgDevices", headers={"Authorization": f"Bearer {abm_token}"})
            ).status_code == 200
        assert (
            await anon.get("/v1/orgDevices", headers={"Authorization": f"Bearer {admin_token}"})
        ).status_code == 401

        journal_api = (await c.get("/emulator/v1/journal", params={"limit": 1000})).text
    assert replica.terminate() in (0, -15)  # flushes and closes the log
    logs = replica.log()
    assert '"level": "debug"' in logs or '"level": "info"' in logs, "nothing was logged at all"
    journal_rows = repr([dict(r) for r in await pg.fetch("SELECT * FROM request_journal")])
    assert journal_rows.count("'method'") >= 20
    places = {"logs": logs, "journal table": journal_rows, "journal API": journal_api,
              "error bodies": recorder.error_bodies()}  # fmt: skip
    leaks = [
        f"{name} in {place}"
        for name, value in found.items()
        for place, text in places.items()
        if _in(value, text)
    ]
    assert leaks == []

    stored = []
    for table in Base.metadata.sorted_tables:
        stored.append(repr([tuple(r.values()) for r in await pg.fetch(f'SELECT * FROM "{table.name}"')]))
    everything = "\n".join(stored)
    assert [name for name, value in at_rest.items() if _in(value, everything)] == []


def _in(secret: str, text: str) -> bool:
    """The secret, or a telling piece of it (a truncated copy leaks too): 24 characters from its middle."""
    if secret in text:
        return True
    middle = len(secret) // 2
    return len(secret) >= 48 and secret[middle : middle + 24] in text


def test_journal_queries_keep_names_but_not_credentials() -> None:
    from dep_emulator.journal.service import redact_query

    query = "grant_type=x&client_assertion=eyJ.abc.def&fields[orgDevices]=color"
    assert redact_query(query) == "grant_type=x&client_assertion=[redacted]&fields[orgDevices]=color"
    assert redact_query("device=C02XYZ&Client_Secret=s3cr3t") == "device=C02XYZ&Client_Secret=[redacted]"
