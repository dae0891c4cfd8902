"""POST /profile and GET /profile (spec §6.9, §6.10, §9, §14.2)."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import snapshot
from tests.dep_helpers import PROFILE, define, device_row, events, second_server
from tests.device_helpers import add_devices

DEFAULT_FLAGS = {
    "allow_pairing": True,
    "is_supervised": False,
    "is_mdm_removable": True,
    "is_mandatory": False,
    "await_device_configured": False,
    "auto_advance_setup": False,
    "is_multi_user": False,
    "is_return_to_service": False,
    "do_not_use_profile_from_backup": False,
}
FULL = {
    "profile_name": "Corporate iPhones",
    "url": "https://mdm.example.org/enroll?token=abc",
    "configuration_web_url": "https://mdm.example.org/web-enroll",
    "allow_pairing": False,
    "is_supervised": True,
    "is_mdm_removable": False,
    "is_mandatory": True,
    "await_device_configured": True,
    "auto_advance_setup": True,
    "is_multi_user": False,
    "is_return_to_service": True,
    "do_not_use_profile_from_backup": True,
    "support_phone_number": "+1 555 0100",
    "support_email_address": "it@example.org",
    "department": "IT",
    "org_magic": "Example Org",
    "language": "en",
    "region": "US",
    "anchor_certs": ["MIIBszCCAVmgAwIBAgIU"],
    "supervising_host_certs": ["MIIBszCCAVmgAwIBAgIV"],
    "skip_setup_items": ["AppleID", "Siri", "Diagnostics"],
}


async def test_define_returns_a_new_uuid_each_time(mdm: httpx.AsyncClient) -> None:
    first = await mdm.post("/profile", json=PROFILE)
    second = await mdm.post("/profile", json=PROFILE)
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "application/json;charset=UTF8"
    assert first.json()["devices"] == {}
    uuids = {first.json()["profile_uuid"], second.json()["profile_uuid"]}
    assert len(uuids) == 2
    assert all(re.fullmatch(r"[0-9A-F]{32}", u) for u in uuids)


async def test_get_returns_every_flag_at_its_effective_value(mdm: httpx.AsyncClient) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    response = await mdm.get("/profile", params={"profile_uuid": uuid})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF8"
    assert response.json() == {"profile_uuid": uuid, **PROFILE, **DEFAULT_FLAGS, "skip_setup_items": []}


async def test_full_profile_round_trips(mdm: httpx.AsyncClient) -> None:
    uuid = (await define(mdm, **FULL))["profile_uuid"]
    stored = (await mdm.get("/profile", params={"profile_uuid": uuid})).json()
    assert stored == {"profile_uuid": uuid, **FULL}


async def test_what_real_clients_send_is_accepted(mdm: httpx.AsyncClient) -> None:
    """MicroMDM/Fleet defaults: empty org_magic, devices [], nulls; plus unknown keys and skip items."""
    body = {
        **PROFILE,
        "org_magic": "",
        "devices": [],
        "department": None,
        "is_mdm_removable": True,
        "skip_setup_items": ["AppleID", "SomethingFromIOS42", "AppleID"],
        "some_future_key": {"nested": 1},
    }
    response = await mdm.post("/profile", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["devices"] == {}
    stored = (await mdm.get("/profile", params={"profile_uuid": response.json()["profile_uuid"]})).json()
    assert "org_magic" not in stored and "department" not in stored and "some_future_key" not in stored
    assert stored["skip_setup_items"] == ["AppleID", "SomethingFromIOS42"]


async def test_v2_keys_are_ignored_below_protocol_2(mdm: httpx.AsyncClient) -> None:
    mdm.headers["X-Server-Protocol-Version"] = "1"
    uuid = (await define(mdm, await_device_configured=True, support_email_address="not an email"))[
        "profile_uuid"
    ]
    stored = (await mdm.get("/profile", params={"profile_uuid": uuid})).json()
    assert stored["await_device_configured"] is False
    assert "support_email_address" not in stored


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in PROFILE.items() if k != key}


# Each case: the body sent and Apple's bare error code (§9.3).
INVALID = [
    pytest.param(_without("profile_name"), "CONFIG_NAME_REQUIRED", id="name-missing"),
    pytest.param({**PROFILE, "profile_name": ""}, "CONFIG_NAME_REQUIRED", id="name-empty"),
    pytest.param({**PROFILE, "profile_name": "   "}, "CONFIG_NAME_REQUIRED", id="name-blank"),
    pytest.param({**PROFILE, "profile_name": "x" * 126}, "CONFIG_NAME_INVALID", id="name-too-long"),
    pytest.param({**PROFILE, "profile_name": 42}, "CONFIG_NAME_INVALID", id="name-not-string"),
    pytest.param(_without("url"), "CONFIG_URL_REQUIRED", id="url-missing"),
    pytest.param({**PROFILE, "url": ""}, "CONFIG_URL_REQUIRED", id="url-empty"),
    pytest.param({**PROFILE, "url": "mdm.example.org/enroll"}, "CONFIG_URL_INVALID", id="url-relative"),
    pytest.param({**PROFILE, "url": "ftp://mdm.example.org/"}, "CONFIG_URL_INVALID", id="url-scheme"),
    pytest.param({**PROFILE, "url": "https://mdm example.org/"}, "CONFIG_URL_INVALID", id="url-space"),
    pytest.param({**PROFILE, "url": "https://mdm.example.org:99999/"}, "CONFIG_URL_INVALID", id="url-port"),
    pytest.param({**PROFILE, "url": "https://"}, "CONFIG_URL_INVALID", id="url-no-host"),
    pytest.param(
        {**PROFILE, "url": "https://mdm.example.org/" + "a" * 1990}, "CONFIG_URL_INVALID", id="url-too-long"
    ),
    pytest.param(
        {**PROFILE, "url": "https://mdm.example.org/" + "é" * 400},
        "CONFIG_URL_INVALID",
        id="url-too-long-encoded",
    ),
    pytest.param({**PROFILE, "url": ["https://x.example"]}, "CONFIG_URL_INVALID", id="url-not-string"),
    pytest.param({**PROFILE, "configuration_web_url": "nope"}, "CONFIG_URL_INVALID", id="web-url-invalid"),
    pytest.param({**PROFILE, "is_mdm_removable": False}, "FLAGS_INVALID", id="unremovable-unsupervised"),
    pytest.param(
        {**PROFILE, "is_mdm_removable": False, "is_supervised": False},
        "FLAGS_INVALID",
        id="unremovable-explicit",
    ),
    pytest.param({**PROFILE, "is_supervised": "true"}, "FLAGS_INVALID", id="flag-not-bool"),
    pytest.param({**PROFILE, "allow_pairing": 1}, "FLAGS_INVALID", id="flag-int"),
    pytest.param({**PROFILE, "department": ""}, "DEPARTMENT_INVALID", id="department-empty"),
    pytest.param({**PROFILE, "department": "d" * 126}, "DEPARTMENT_INVALID", id="department-too-long"),
    pytest.param({**PROFILE, "support_phone_number": ""}, "SUPPORT_PHONE_INVALID", id="phone-empty"),
    pytest.param({**PROFILE, "support_phone_number": "1" * 51}, "SUPPORT_PHONE_INVALID", id="phone-too-long"),
    pytest.param({**PROFILE, "support_email_address": "it"}, "SUPPORT_EMAIL_INVALID", id="email-no-at"),
    pytest.param(
        {**PROFILE, "support_email_address": "a@" + "b" * 249}, "SUPPORT_EMAIL_INVALID", id="email-too-long"
    ),
    pytest.param({**PROFILE, "org_magic": "m" * 257}, "MAGIC_INVALID", id="magic-too-long"),
    pytest.param({**PROFILE, "org_magic": 7}, "MAGIC_INVALID", id="magic-not-string"),
    pytest.param({**PROFILE, "language": "xx"}, "LOCALE_INVALID", id="language-unknown"),
    pytest.param({**PROFILE, "language": "english"}, "LOCALE_INVALID", id="language-shape"),
    pytest.param({**PROFILE, "region": "ZZ"}, "LOCALE_INVALID", id="region-unknown"),
    pytest.param({**PROFILE, "language": "en", "region": "USA"}, "LOCALE_INVALID", id="region-alpha3"),
    pytest.param({**PROFILE, "devices": "SERIAL1"}, "MALFORMED_REQUEST_BODY", id="devices-not-list"),
    pytest.param({**PROFILE, "devices": [1, 2]}, "MALFORMED_REQUEST_BODY", id="devices-not-strings"),
    pytest.param({**PROFILE, "skip_setup_items": "AppleID"}, "MALFORMED_REQUEST_BODY", id="skip-not-list"),
    pytest.param({**PROFILE, "anchor_certs": [1]}, "MALFORMED_REQUEST_BODY", id="anchors-not-strings"),
    # First error wins, in the documented order (dep_emulator.profiles.validation).
    pytest.param({"department": ""}, "CONFIG_NAME_REQUIRED", id="order-name-before-url"),
    pytest.param(
        {**PROFILE, "url": "x", "is_mdm_removable": False}, "CONFIG_URL_INVALID", id="order-url-flags"
    ),
    pytest.param({**PROFILE, "is_mdm_removable": False, "department": ""}, "FLAGS_INVALID", id="order-flags"),
    pytest.param(
        {**PROFILE, "department": "", "support_phone_number": ""}, "DEPARTMENT_INVALID", id="order-dept"
    ),
    pytest.param(
        {**PROFILE, "support_phone_number": "", "support_email_address": "x"},
        "SUPPORT_PHONE_INVALID",
        id="order-phone-email",
    ),
    pytest.param(
        {**PROFILE, "support_email_address": "x", "org_magic": 1},
        "SUPPORT_EMAIL_INVALID",
        id="order-email-magic",
    ),
    pytest.param({**PROFILE, "org_magic": 1, "language": "xx"}, "MAGIC_INVALID", id="order-magic-locale"),
    pytest.param({"devices": 3}, "MALFORMED_REQUEST_BODY", id="order-malformed-first"),
]


@pytest.mark.parametrize(("body", "code"), INVALID)
async def test_invalid_profiles(mdm: httpx.AsyncClient, pg: asyncpg.Connection, body: Any, code: str) -> None:
    await mdm.get("/account")  # authenticate first so the snapshot holds the session
    before = await snapshot(pg)
    response = await mdm.post("/profile", json=body)
    assert (response.status_code, response.text) == (400, code)
    assert response.headers["content-type"].startswith("text/plain")
    assert await snapshot(pg) == before


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b'"profile"', b"\xff\xfe"])
async def test_malformed_body(mdm: httpx.AsyncClient, raw: bytes) -> None:
    response = await mdm.post("/profile", content=raw)
    assert (response.status_code, response.text) == (400, "MALFORMED_REQUEST_BODY")


@pytest.mark.parametrize("settings_overrides", [{"strict_org_magic": True}])
async def test_strict_org_magic(mdm: httpx.AsyncClient) -> None:
    response = await mdm.post("/profile", json={**PROFILE, "org_magic": ""})
    assert (response.status_code, response.text) == (400, "MAGIC_INVALID")


async def test_session_is_checked_before_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/profile", content=b"{not json", headers={"User-Agent": "x"})
    assert response.status_code == 401


@pytest.mark.parametrize("query", ["", "?profile_uuid=", "?profile_uuid=%20"])
async def test_get_without_uuid(mdm: httpx.AsyncClient, query: str) -> None:
    response = await mdm.get("/profile" + query)
    assert (response.status_code, response.text) == (400, "PROFILE_UUID_REQUIRED")


async def test_get_unknown_or_foreign_profile_is_not_found(
    app: FastAPI, client: httpx.AsyncClient, mdm: httpx.AsyncClient, org: dict[str, Any]
) -> None:
    response = await mdm.get("/profile", params={"profile_uuid": "0" * 32})
    assert (response.status_code, response.text) == (400, "NOT_FOUND")
    async with second_server(app, client, org["id"]) as (_, other):
        foreign = (await define(other))["profile_uuid"]
    response = await mdm.get("/profile", params={"profile_uuid": foreign})
    assert (response.status_code, response.text) == (400, "NOT_FOUND")


async def test_get_accepts_lower_case_uuid(mdm: httpx.AsyncClient) -> None:
    uuid = (await define(mdm))["profile_uuid"]
    response = await mdm.get("/profile", params={"profile_uuid": uuid.lower()})
    assert response.status_code == 200
    assert response.json()["profile_uuid"] == uuid


async def test_define_with_devices_assigns_them(
    app: FastAPI,
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    pg: asyncpg.Connection,
    org: dict[str, Any],
    server: dict[str, Any],
) -> None:
    mine = await add_devices(client, org_id=org["id"], server_uuid=server["server_uuid"], count=2)
    async with second_server(app, client, org["id"]) as (other_server, _):
        theirs = await add_devices(
            client, org_id=org["id"], server_uuid=other_server["server_uuid"], count=1, seed=2
        )
    serials = mine
    foreign = theirs[0]
    requested = [serials[0], "NOSUCHSERIAL", serials[1], foreign, serials[0]]
    response = await mdm.post("/profile", json={**PROFILE, "devices": requested})
    assert response.status_code == 200
    uuid = response.json()["profile_uuid"]
    assert response.json()["devices"] == {
        serials[0]: "SUCCESS",
        "NOSUCHSERIAL": "NOT_ACCESSIBLE",
        serials[1]: "SUCCESS",
        foreign: "NOT_ACCESSIBLE",
    }
    row = await device_row(pg, serials[0])
    assert (row["profile_uuid"], row["profile_status"]) == (uuid, "assigned")
    assert row["profile_assign_time"] is not None
    log = await events(pg, serials[0])
    assert [e["op_type"] for e in log] == ["added", "modified"]
    assert log[-1]["snapshot"]["profile_uuid"] == uuid
    assert log[-1]["snapshot"]["profile_status"] == "assigned"
    assert (await device_row(pg, foreign))["profile_uuid"] is None
