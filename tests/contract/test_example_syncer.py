"""Example contract test for an MDM's DEP syncer, using the dep-emulator pytest plugin.

`docs/contract-testing.md` shows this file verbatim; it runs in dep-emulator's own suite.
In your project: `pip install dep-emulator`, and the `depemu_*` fixtures are there.
"""

from __future__ import annotations

import requests
from dep_emulator.testing.harness import ControlClient, Emulator, MdmServerHandle
from requests_oauthlib import OAuth1


class DepSyncer:
    """The code under test: a minimal syncer that behaves like nanodep's (spec §8.1)."""

    def __init__(self, base_url: str, server: MdmServerHandle) -> None:
        creds = server.credentials
        self.base_url = base_url
        self.oauth = OAuth1(
            creds.consumer_key, creds.consumer_secret, creds.access_token, creds.access_secret
        )
        self.http = requests.Session()
        self.http.headers.update({"User-Agent": "example-mdm/1.0", "X-Server-Protocol-Version": "10"})
        self.cursor: str | None = None
        self.devices: dict[str, dict[str, object]] = {}

    def _call(self, path: str, body: dict[str, object]) -> requests.Response:
        if "X-ADM-Auth-Session" not in self.http.headers:
            response = self.http.get(f"{self.base_url}/session", auth=self.oauth, timeout=10)
            response.raise_for_status()
            self.http.headers["X-ADM-Auth-Session"] = response.json()["auth_session_token"]
        response = self.http.post(f"{self.base_url}{path}", json=body, timeout=10)
        if response.headers.get("X-ADM-Auth-Session"):
            self.http.headers["X-ADM-Auth-Session"] = response.headers["X-ADM-Auth-Session"]
        return response

    def run_once(self) -> None:
        """Fetch until done (first run) or sync; on EXPIRED/INVALID_CURSOR start over with a fetch."""
        path = "/devices/sync" if self.cursor else "/server/devices"
        while True:
            body: dict[str, object] = {"limit": 100}
            if self.cursor:
                body["cursor"] = self.cursor
            response = self._call(path, body)
            if response.status_code == 400 and response.text in ("EXPIRED_CURSOR", "INVALID_CURSOR"):
                self.cursor, path = None, "/server/devices"
                continue
            response.raise_for_status()
            page = response.json()
            for device in page["devices"]:
                if device.get("op_type") == "deleted":
                    self.devices.pop(device["serial_number"], None)
                else:
                    self.devices[device["serial_number"]] = device
            self.cursor = page["cursor"]
            if not page["more_to_follow"]:
                return


def test_syncer_follows_the_feed(
    depemu: Emulator,
    depemu_control: ControlClient,
    depemu_org: dict[str, object],
    depemu_mdm_server: MdmServerHandle,
) -> None:
    org_id, server_uuid = depemu_org["id"], depemu_mdm_server.server_uuid
    # Seed 250 devices assigned to our MDM server, and a second server to move one to.
    depemu_control.post(
        f"/orgs/{org_id}/devices", {"generate": {"count": 250, "seed": 1, "order_number": "PO-1"}}
    )
    depemu_control.post(f"/orgs/{org_id}/assignments", {"server_uuid": server_uuid, "order_number": "PO-1"})
    other = depemu_control.post(f"/orgs/{org_id}/mdm-servers", {"server_name": "Other MDM"})

    syncer = DepSyncer(depemu.base_url, depemu_mdm_server)
    syncer.run_once()  # full fetch: three pages of 100
    assert len(syncer.devices) == 250

    # The admin moves one device to the other server: our feed says `deleted`.
    moved = sorted(syncer.devices)[0]
    depemu_control.post(
        f"/orgs/{org_id}/assignments", {"server_uuid": other["server_uuid"], "serials": [moved]}
    )
    syncer.run_once()
    assert moved not in syncer.devices and len(syncer.devices) == 249

    # Apple expires the cursor: the syncer must fall back to a full fetch, and lose nothing.
    depemu_control.post(
        "/faults", {"endpoint": "POST /devices/sync", "responses": [{"count": 1, "error": "EXPIRED_CURSOR"}]}
    )
    syncer.run_once()
    assert len(syncer.devices) == 249

    # What the syncer sent, from the emulator's request journal.
    journal = depemu_control.get("/journal", params={"server_uuid": server_uuid, "limit": 100})["entries"]
    calls = [(e["endpoint"], e["status"], e["error_code"]) for e in journal]
    assert calls.count(("POST /devices/sync", 400, "EXPIRED_CURSOR")) == 1
    assert calls[-3:] == [("POST /server/devices", 200, None)] * 3  # the re-fetch after the expired cursor
    assert all(e["limit"] == 100 for e in journal if e["path"] != "/session")
    assert all(e["user_agent"] == "example-mdm/1.0" for e in journal)
