"""The shipped pytest plugin, used the way an MDM project's contract tests use it."""

from __future__ import annotations

import requests
from dep_emulator.testing.harness import ControlClient, Emulator, MdmServerHandle
from requests_oauthlib import OAuth1


def test_plugin_hands_out_a_working_mdm_server(depemu: Emulator, depemu_mdm_server: MdmServerHandle) -> None:
    creds = depemu_mdm_server.credentials
    auth = OAuth1(creds.consumer_key, creds.consumer_secret, creds.access_token, creds.access_secret)
    headers = {"User-Agent": "contract-test/1", "X-Server-Protocol-Version": "10"}
    session = requests.get(f"{depemu.base_url}/session", auth=auth, headers=headers, timeout=10)
    assert session.status_code == 200
    token = session.json()["auth_session_token"]
    account = requests.get(
        f"{depemu.base_url}/account", headers={**headers, "X-ADM-Auth-Session": token}, timeout=10
    )
    assert account.json()["server_uuid"] == depemu_mdm_server.server_uuid


def test_state_is_wiped_between_tests(depemu_control: ControlClient) -> None:
    # The previous test created an org; the reset after it removed everything.
    assert depemu_control.get("/orgs") == {"orgs": []}
    assert depemu_control.get("/clock")["offset_seconds"] == 0
