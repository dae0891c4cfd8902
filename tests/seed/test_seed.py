"""Seed files: the shipped demo loads, a second load changes nothing, errors name the line or key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from dep_emulator.seed import loader
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client
from fastapi import FastAPI

from tests.conftest import BASE_URL, snapshot
from tests.devices.helpers import fetch_all

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.yaml"
YAML = {"Content-Type": "application/yaml"}


async def seed(client: httpx.AsyncClient, body: str | dict[str, Any], status: int = 200) -> dict[str, Any]:
    if isinstance(body, str):
        response = await client.post("/emulator/v1/seed", content=body.encode(), headers=YAML)
    else:
        response = await client.post("/emulator/v1/seed", json=body)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


def pem(certificate: tuple[bytes, bytes]) -> str:
    return certificate[0].decode()


# --- the shipped demo, loaded at start-up as `serve --seed` does --------------------------


@pytest.mark.parametrize("settings_overrides", [{"seed_file": str(DEMO)}])
async def test_demo_seed_loads_at_startup_and_twice_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    orgs = (await client.get("/emulator/v1/orgs")).json()["orgs"]
    assert [o["name"] for o in orgs] == ["Demo Org"]
    org_id = orgs[0]["id"]
    servers = {
        s["server_name"]: s
        for s in (await client.get(f"/emulator/v1/orgs/{org_id}/mdm-servers")).json()["mdm_servers"]
    }
    assert set(servers) == {"Demo MDM", "Demo MDM (staging)"}
    assert servers["Demo MDM"]["has_certificate"] and servers["Demo MDM"]["token_issued"]
    assert not servers["Demo MDM (staging)"]["has_certificate"]
    assert await pg.fetchval("SELECT count(*) FROM device WHERE org_id = $1", int(org_id)) == 50
    per_server = dict(
        await pg.fetch(
            "SELECT s.server_name, count(d.id) FROM mdm_server s LEFT JOIN device d ON d.server_id = s.id "
            "GROUP BY s.server_name"
        )
    )
    assert per_server == {"Demo MDM": 41, "Demo MDM (staging)": 9}
    profiled = await pg.fetch(
        "SELECT d.profile_status, count(*) FROM device d JOIN profile p ON p.profile_uuid = d.profile_uuid "
        "GROUP BY d.profile_status"
    )
    assert [tuple(r) for r in profiled] == [("assigned", 40)]
    faults = (await client.get("/emulator/v1/faults")).json()["faults"]
    assert [(f["endpoint"], f["server_uuid"]) for f in faults] == [
        ("POST /devices/sync", servers["Demo MDM"]["server_uuid"])
    ]
    churn = (await client.get(f"/emulator/v1/orgs/{org_id}/churn")).json()["churn"]
    assert [(c["name"], c["kind"], c["devices_per_event"], c["events_run"]) for c in churn] == [
        ("new iPads", "insert", 2, 0)
    ]

    before = await snapshot(pg)
    again = await loader.load_file(app.state.sessionmaker, DEMO, settings=app.state.settings)
    assert again.changed is False
    assert [s.status for s in again.orgs[0].mdm_servers] == ["unchanged", "unchanged"]
    assert (again.orgs[0].profiles_defined, again.orgs[0].profile_assignments) == (0, 0)
    assert await snapshot(pg) == before


async def test_seed_over_http_json_then_yaml_is_idempotent(
    client: httpx.AsyncClient, pg: asyncpg.Connection, certificate: tuple[bytes, bytes]
) -> None:
    body = {
        "orgs": [
            {
                "name": "Acme",
                "type": "edu",
                "terms_accepted": False,
                "settings": {"feed_style": "clean"},
                "traffic_rules": {"preset": "strict"},
                "mdm_servers": [{"name": "A", "certificate": pem(certificate), "issue_credentials": True}],
                "devices": [
                    {"serial_number": "SEEDSER0001", "model": "iPhone 15", "server": "A"},
                    {"generate": {"count": 5, "families": ["Mac"], "seed": 3}},
                ],
                "faults": [{"endpoint": "GET /account", "responses": [{"error": "FORBIDDEN"}]}],
                "churn": [
                    {"name": "out", "kind": "delete", "devices_per_event": 1, "interval_in_seconds": 60}
                ],
            }
        ],
        "faults": [{"endpoint": "POST /session", "responses": [{"count": 2, "status": 503}]}],
    }
    first = await seed(client, body)
    assert first["changed"] is True
    org = first["orgs"][0]
    assert (org["status"], org["devices_added"], org["devices_generated"], org["devices_assigned"]) == (
        "created",
        1,
        5,
        1,
    )
    credentials = org["mdm_servers"][0]["oauth_credentials"]
    assert credentials["consumer_key"].startswith("CK_")
    assert first["faults_created"] == 1 and org["faults_created"] == 1
    row = await pg.fetchrow("SELECT org_type, terms_accepted, settings FROM org")
    assert (row["org_type"], row["terms_accepted"]) == ("edu", False)
    assert json.loads(row["settings"])["feed_style"] == "clean"
    assert json.loads(row["settings"])["traffic_rules"]["preset"] == "strict"

    before = await snapshot(pg)
    second = await seed(client, body)
    assert second["changed"] is False
    assert second["orgs"][0]["mdm_servers"][0]["oauth_credentials"] == credentials  # not re-issued
    assert await snapshot(pg) == before

    # The same declaration as YAML (block style) is the same state.
    yaml_text = f"""
orgs:
  - name: Acme
    type: edu
    terms_accepted: false
    settings: {{feed_style: clean}}
    traffic_rules: {{preset: strict}}
    mdm_servers:
      - name: A
        certificate: |
{_indent(pem(certificate), 10)}
        issue_credentials: true
    devices:
      - {{serial_number: SEEDSER0001, model: iPhone 15, server: A}}
      - generate: {{count: 5, families: [Mac], seed: 3}}
    faults:
      - {{endpoint: GET /account, responses: [{{error: FORBIDDEN}}]}}
    churn:
      - {{name: out, kind: delete, devices_per_event: 1, interval_in_seconds: 60}}
faults:
  - {{endpoint: POST /session, responses: [{{count: 2, status: 503}}]}}
"""
    third = await seed(client, yaml_text)
    assert third["changed"] is False
    assert await snapshot(pg) == before


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.strip().splitlines())


async def test_seeded_devices_reach_the_mdm_and_a_released_one_comes_back(
    app: FastAPI, client: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    body = {
        "orgs": [
            {
                "name": "Feed Org",
                "mdm_servers": [{"name": "MDM", "issue_credentials": True}],
                "devices": [
                    {"serial_number": "FEEDSER0001", "server": "MDM"},
                    {"generate": {"count": 3, "order_number": "FEED-1"}, "server": "MDM"},
                ],
            }
        ]
    }
    result = await seed(client, body)
    credentials = OAuthCredentials.from_json(result["orgs"][0]["mdm_servers"][0]["oauth_credentials"])
    async with dep_client(credentials, base_url=BASE_URL, transport=httpx.ASGITransport(app=app)) as mdm:
        devices, _ = await fetch_all(mdm)
    assert len(devices) == 4 and "FEEDSER0001" in {d["serial_number"] for d in devices}

    assert (await client.delete("/emulator/v1/devices/FEEDSER0001")).status_code == 200
    again = await seed(client, body)  # declarative: the file says the device is in the org
    assert (again["orgs"][0]["devices_added"], again["orgs"][0]["devices_assigned"]) == (1, 1)
    assert await pg.fetchval("SELECT server_id IS NOT NULL FROM device WHERE serial_number = 'FEEDSER0001'")


# --- errors: the line (YAML) or key path (JSON), and nothing changed -----------------------

BAD_KEY = """\
orgs:
  - name: Org
    mdm_servers:
      - name: A
        colour: blue
"""

BAD_CERT = """\
orgs:
  - name: Org
    mdm_servers:
      - name: A
      - name: B
        certificate: |
          -----BEGIN CERTIFICATE-----
          bm90IGEgY2VydGlmaWNhdGU=
          -----END CERTIFICATE-----
"""

UNKNOWN_SERVER = """\
orgs:
  - name: Org
    mdm_servers: [{name: A}]
    devices:
      - serial_number: ERRSER0001
      - generate: {count: 2}
        server: B
"""

LATE_FAULT = """\
orgs:
  - name: Org
    mdm_servers: [{name: A}]
    devices: [{generate: {count: 3}, server: A}]
faults:
  - endpoint: POST /devices/sync
    server_uuid: 0123456789ABCDEF0123456789ABCDEF
    responses: [{error: EXPIRED_CURSOR}]
"""


@pytest.mark.parametrize(
    ("text", "line", "path", "reason"),
    [
        (BAD_KEY, 5, "orgs[0].mdm_servers[0].colour", "unknown key 'colour'"),
        (BAD_CERT, 6, "orgs[0].mdm_servers[1].certificate", "certificate"),
        (UNKNOWN_SERVER, 7, "orgs[0].devices[1].server", "no MDM server named 'B' in this org (known: 'A')"),
        (LATE_FAULT, 7, "faults[0].server_uuid", "does not exist"),
        ("orgs:\n  - name: [unclosed\n", 3, None, "not valid YAML"),
        ("orgs:\n  - name: A\n    name: B\n", 3, "orgs[0].name", "duplicate key 'name'"),
        (
            "orgs:\n  - name: A\n    mdm_servers: [{name: S}]\n    profiles:\n"
            "      - server: S\n        profile: {profile_name: P}\n",
            6,
            "orgs[0].profiles[0].profile",
            "Apple would answer 400 CONFIG_URL_REQUIRED",
        ),
    ],
)
async def test_yaml_errors_name_the_line_and_change_nothing(
    client: httpx.AsyncClient, pg: asyncpg.Connection, text: str, line: int, path: str | None, reason: str
) -> None:
    before = await snapshot(pg)
    response = await client.post("/emulator/v1/seed", content=text.encode(), headers=YAML)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_seed"
    assert error["details"]["line"] == line
    assert error["details"].get("path") == path
    assert reason.lower() in error["message"].lower()
    assert error["message"].startswith(f"line {line}, column ")
    assert await snapshot(pg) == before


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (
            {"orgs": [{"name": "O", "mdm_servers": [{"name": "A"}, {"name": "B", "certificate": "x.pem"}]}]},
            "orgs[0].mdm_servers[1].certificate",
            "cannot read certificate file",
        ),
        (
            {"orgs": [{"name": "O", "devices": [{"generate": {"count": 0}}]}]},
            "orgs[0].devices[0].generate.count",
            "",
        ),
        ({"orgs": [{"name": "O", "devices": [{"serial": "X"}]}]}, "orgs[0].devices[0].serial", "unknown key"),
        ({"orgs": [{"type": "org"}]}, "orgs[0]", "missing key 'name'"),
        (
            {
                "orgs": [
                    {"name": "O", "assignments": [{"server": "A", "serials": ["X"], "order_number": "Y"}]}
                ]
            },
            "orgs[0].assignments[0]",
            "exactly one",
        ),
        (
            {"orgs": [{"name": "O", "settings": {"feed_styl": "clean"}}]},
            "orgs[0].settings",
            "unknown org setting",
        ),
        (
            {"orgs": [{"name": "O", "devices": [{"serial_number": "DUP1"}, {"serial_number": "DUP1"}]}]},
            "orgs[0].devices[1].serial_number",
            "listed twice",
        ),
        ({"orgs": [{"name": "O", "device_deletions": {"devices_per_event": 5}}]}, "orgs[0]", "interval"),
    ],
)
async def test_json_errors_name_the_key_path_and_change_nothing(
    client: httpx.AsyncClient, pg: asyncpg.Connection, body: dict[str, Any], path: str, reason: str
) -> None:
    before = await snapshot(pg)
    response = await client.post("/emulator/v1/seed", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["path"]) == ("invalid_seed", path)
    assert "line" not in error["details"]
    assert error["message"].startswith(f"{path}: ")
    assert reason in error["message"]
    assert await snapshot(pg) == before


async def test_bad_json_and_non_mapping_bodies(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/emulator/v1/seed", content=b'{"orgs": [}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"line": 1, "column": 11}
    response = await client.post("/emulator/v1/seed", content=b"- a\n- b\n", headers=YAML)
    assert response.status_code == 422
    assert "mapping" in response.json()["error"]["message"]
    response = await client.post("/emulator/v1/seed", content=b"\xff\xfe", headers=YAML)
    assert response.status_code == 422


async def test_another_orgs_serial_is_refused(client: httpx.AsyncClient, pg: asyncpg.Connection) -> None:
    await seed(client, {"orgs": [{"name": "First", "devices": [{"serial_number": "TAKEN0001"}]}]})
    before = await snapshot(pg)
    text = "orgs:\n  - name: Second\n    devices:\n      - serial_number: TAKEN0001\n"
    response = await client.post("/emulator/v1/seed", content=text.encode(), headers=YAML)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["details"]["line"], error["details"]["path"]) == (4, "orgs[0].devices[0].serial_number")
    assert "belongs to another org" in error["message"]
    assert await snapshot(pg) == before


def test_shipped_examples_and_the_documented_example_are_valid() -> None:
    """Schema only (the 100,000-device load runs under bench/seed_large.py, not here)."""
    from dep_emulator.seed import parse

    staging = parse.read_file(ROOT / "examples" / "staging-100k.yaml").spec
    assert sum(d.generate.count for d in staging.orgs[0].devices if hasattr(d, "generate")) == 100_000
    doc = (ROOT / "docs" / "seed-files.md").read_text()
    example = doc.split("## Example\n\n```yaml\n", 1)[1].split("```", 1)[0]
    spec = parse.parse(example, fmt="yaml", base_dir=ROOT / "examples").spec
    assert [o.name for o in spec.orgs] == ["Demo Org"]


async def test_seed_sets_the_observed_behaviour_switches(client: httpx.AsyncClient) -> None:
    """Issue 29: a seed file sets every new org setting, as the control API does."""
    body = {
        "orgs": [
            {"name": "Observed Org", "settings": {"release_feed_event": "deleted", "feed_delay_seconds": 120}}
        ]
    }
    result = await seed(client, body)
    org_id = result["orgs"][0]["id"]
    settings = (await client.get(f"/emulator/v1/orgs/{org_id}/settings")).json()
    assert (settings["release_feed_event"], settings["feed_delay_seconds"]) == ("deleted", 120)
    bad = await client.post(
        "/emulator/v1/seed", json={"orgs": [{"name": "Observed Org", "settings": {"feed_delay_seconds": -1}}]}
    )
    assert bad.status_code == 422, bad.text
