"""pyaxm (PyPI, unmodified) against the emulator served by uvicorn (issue 30 "Done when").

pyaxm's URLs are Apple's (`https://account.apple.com/auth/oauth2/token`,
`https://api-business.apple.com/v1/...`). Nothing of pyaxm is patched: a requests transport adapter,
mounted on the client's own `requests.Session` (`Client().abm.session`), sends those URLs to the
emulator's loopback port, headers and bodies untouched. Two seams are configuration, not code:
- the token. pyaxm's `Client()` fetches one while it is constructed, before anything can be mounted,
  unless its token cache file holds a live one; the test starts it with a placeholder there, then
  expires both the cache and the in-memory token, so the first API call runs pyaxm's own token
  exchange (ES256 assertion, form body, `Host: account.apple.com`) through the adapter;
- the waits. pyaxm's activity helpers sleep 10 s before the first status check; the module's `time`
  is given a `sleep` that returns at once (activities complete at once here:
  `abm_activity_delay_seconds = 0`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import types
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter

with warnings.catch_warnings():  # pyaxm imports authlib.jose, which warns of its own deprecation
    from authlib.deprecate import AuthlibDeprecationWarning  # (its import puts an "always" filter first)

    warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)
    import pyaxm.auth as pyaxm_auth
    import pyaxm.client as pyaxm_client

APPLE_HOSTS = ("https://account.apple.com", "https://api-business.apple.com")
SERIALS = ("PYAXM00001", "PYAXM00002", "PYAXM00003", "PYAXM00004")


class EmulatorAdapter(HTTPAdapter):
    """Sends requests for Apple's hosts to the emulator (scheme, host and port only)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.seen: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        for host in APPLE_HOSTS:
            if url.startswith(host + "/"):
                request.url = self.base_url + url[len(host) :]
        self.seen.append(f"{request.method} {url}")
        return super().send(request, *args, **kwargs)


def seeded(url: str) -> dict[str, Any]:
    """An org with a server, four devices (two assigned), two users, a Blueprint and an API account."""
    with httpx.Client(base_url=url, timeout=30) as control:
        org = control.post("/emulator/v1/orgs", json={"name": "Pyaxm Org"}).json()
        base = f"/emulator/v1/orgs/{org['id']}"
        server = control.post(f"{base}/mdm-servers", json={"server_name": "Pyaxm MDM"}).json()
        devices = [{"serial_number": s, "model": "iPhone 15"} for s in SERIALS]
        assert control.post(f"{base}/devices", json={"devices": devices}).status_code == 201
        assigned = control.post(
            f"{base}/assignments", json={"server_uuid": server["server_uuid"], "serials": list(SERIALS[:2])}
        )
        assert assigned.status_code == 200, assigned.text
        users = [
            control.post(f"{base}/users", json={"first_name": f, "last_name": last}).json()
            for f, last in (("Ada", "Lovelace"), ("Grace", "Hopper"))
        ]
        app = {"adam_id": "361309726", "name": "Pages", "bundle_id": "com.apple.Pages"}
        assert control.post(f"{base}/apps", json=app).status_code == 201
        account = control.post(f"{base}/api-accounts", json={}).json()
    return {"org": org, "server": server, "users": users, "account": account}


def blueprint_via_http(url: str, token: str, user_id: str) -> str:
    """One Blueprint written through the Business API, for the audit trail pyaxm reads."""
    body = {
        "data": {
            "type": "blueprints",
            "attributes": {"name": "Pyaxm"},
            "relationships": {
                "apps": {"data": [{"type": "apps", "id": "361309726"}]},
                "users": {"data": [{"type": "users", "id": user_id}]},
            },
        }
    }
    response = httpx.post(f"{url}/v1/blueprints", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    blueprint_id: str = response.json()["data"]["id"]
    return blueprint_id


def test_pyaxm_client_against_the_emulator(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = seeded(url)
    account = state["account"]
    key_path, token_path = tmp_path / "key.pem", tmp_path / "token.json"
    key_path.write_text(account["private_key_pem"])
    token_path.write_text(json.dumps({"access_token": "placeholder", "expires_at": time.time() + 3600}))
    monkeypatch.setattr(pyaxm_client, "time", types.SimpleNamespace(sleep=lambda _seconds: None))

    client = pyaxm_client.Client(
        axm_client_id=account["client_id"],
        axm_key_id=account["key_id"],
        key_path=str(key_path),
        token_path=str(token_path),
    )
    adapter = EmulatorAdapter(url)
    client.abm.session.mount("https://", adapter)
    # Expire the placeholder: the next call makes pyaxm fetch a token of its own.
    token_path.write_text(json.dumps({"access_token": "placeholder", "expires_at": 0}))
    client.token_manager.access_token = pyaxm_auth.AccessToken("placeholder", dt.datetime.now(dt.UTC))

    devices = client.list_devices()
    assert adapter.seen[0] == "POST https://account.apple.com/auth/oauth2/token"
    token = json.loads(token_path.read_text())["access_token"]
    assert token != "placeholder" and client.token_manager.get_token_value() == token
    assert sorted(d.id for d in devices) == list(SERIALS)

    device = client.get_device("PYAXM00001")
    assert device.id == "PYAXM00001" and device.attributes.serialNumber == "PYAXM00001"
    (coverage,) = client.get_apple_care_coverage("PYAXM00001")
    assert coverage.attributes.description == "Limited Warranty"

    server_uuid = state["server"]["server_uuid"]
    servers = {s.id: s.attributes.serverName for s in client.list_mdm_servers()}
    assert servers[server_uuid] == "Pyaxm MDM"
    assert sorted(d.id for d in client.list_devices_in_mdm_server(server_uuid)) == list(SERIALS[:2])
    assert client.get_device_server_assignment("PYAXM00001").id == server_uuid

    assigned = client.assign_unassign_device_to_mdm_server(["PYAXM00003"], server_uuid, "ASSIGN_DEVICES")
    assert assigned.attributes.status == "COMPLETED"
    assert sorted(d.id for d in client.list_devices_in_mdm_server(server_uuid)) == list(SERIALS[:3])
    unassigned = client.assign_unassign_device_to_mdm_server(["PYAXM00001"], server_uuid, "UNASSIGN_DEVICES")
    assert unassigned.attributes.status == "COMPLETED"
    assert sorted(d.id for d in client.list_devices_in_mdm_server(server_uuid)) == list(SERIALS[1:3])

    released = client.release_devices(["PYAXM00004"])
    assert released.attributes.status == "COMPLETED"
    # Observed F2 (issue 29): still listed, with its release time, as Apple's list example shows.
    listed = {d.id: d for d in client.list_devices()}
    assert sorted(listed) == list(SERIALS)
    assert listed["PYAXM00004"].attributes.releasedFromOrgDateTime is not None
    assert all(listed[s].attributes.releasedFromOrgDateTime is None for s in SERIALS[:3])

    users = {u.id: u for u in client.list_users()}
    assert set(users) == {u["id"] for u in state["users"]}
    ada = client.get_user(state["users"][0]["id"])
    assert (ada.attributes.firstName, ada.attributes.lastName) == ("Ada", "Lovelace")

    blueprint_id = blueprint_via_http(url, token, state["users"][0]["id"])
    events = client.get_audit_events("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    created = [e for e in events if e.attributes.type == "COLLECTION_CREATED"]
    assert [e.attributes.subjectId for e in created] == [blueprint_id]
