"""The misbehaving-MDM matrix, first step: the profile URL (ConfigurationURL) answers badly (issue 28).

Each row: the device is activated against the misbehaving MDM, then `POST .../enroll` over a
keep-alive connection to a real uvicorn-served emulator; `matrix.reported` checks the report
(step and reason in words), the database unchanged, the exchanges on record and the connection.
"""

from __future__ import annotations

import json
import plistlib
from typing import Any

import asyncpg
import httpx
import pytest

from tests.device_setup.matrix import activated, bad_mdm, iphone, live, reported, settings_overrides
from tests.device_setup.mdm_endpoint import sign_profile
from tests.device_setup.misbehaving_mdm import ASPEN, DROP, HANG, MisbehavingMdm, Reply, Request

__all__ = ["bad_mdm", "iphone", "live", "settings_overrides"]  # fixtures used by every row


def _redirect(to: str, status: int = 302) -> Any:
    return lambda request: Reply(status, b"", {"Location": to})


def _tampered(bad: MisbehavingMdm) -> bytes:
    signed = sign_profile(plistlib.loads(bad.profile(PayloadDisplayName="Original MDM")))
    return signed.replace(b"Original MDM", b"Tampered MDM")


# A predefined 403 the device does not act on (issue 31 made com.apple.softwareupdate.required an
# update and a retry: tests/device_setup/test_os_update.py).
APPLE_ERROR = {
    "code": "com.apple.watch.pairing.token.missing",
    "message": "Pair this watch with its iPhone first.",
    "details": {"security-token": "0F2C6A1E-0000-4000-8000-000000000001"},
}

NOT_APPLE = "unauthorized enrollment client: not signed by Apple Device CA"
MICROMDM_REFUSAL = json.dumps({"error": NOT_APPLE}).encode()

# (row, the answer to the device's MachineInfo, the step that fails, the reason in words, its status)
ROWS: list[tuple[str, Any, str, str, int | None]] = [
    ("302 loop", _redirect("/enroll"), "profile.fetch", "redirected more than 3 times", None),
    ("301 loop", _redirect("/enroll", 301), "profile.fetch", "redirected more than 3 times", None),
    ("401", lambda r: Reply(401, b""), "profile.fetch", "401 Unauthorized", 401),
    (
        "403 with a text body",
        lambda r: Reply(403, b"unauthorized enrollment client: not signed by Apple Device CA"),
        "profile.fetch",
        "the MDM refused the device (HTTP 403): unauthorized enrollment client: "
        "not signed by Apple Device CA",
        403,
    ),
    (
        "403 with Apple's JSON error body",
        lambda r: Reply(403, json.dumps(APPLE_ERROR).encode(), {"Content-Type": "application/json"}),
        "profile.fetch",
        "the MDM refused the device (HTTP 403, com.apple.watch.pairing.token.missing): "
        "Pair this watch with its iPhone first. (security-token 0F2C6A1E-0000-4000-8000-000000000001)",
        403,
    ),
    (
        # MicroMDM v1.13.1 checks the machine info's signer against Apple's device CA, compiled in.
        "MicroMDM's refusal of a device not signed by Apple's device CA",
        lambda r: Reply(500, MICROMDM_REFUSAL, {"Content-Type": "application/json; charset=utf-8"}),
        "profile.fetch",
        f'the MDM answered HTTP 500: {{"error": "{NOT_APPLE}"}}',
        500,
    ),
    ("404", lambda r: Reply(404, b"no such page"), "profile.fetch", "HTTP 404: no such page", 404),
    ("500", lambda r: Reply(500, b"oops"), "profile.fetch", "HTTP 500: oops", 500),
    (
        "503 with Retry-After",
        lambda r: Reply(503, b"", {"Retry-After": "120"}),
        "profile.fetch",
        "HTTP 503; it asks to retry after 120 seconds",
        503,
    ),
    (
        "an HTML page",
        lambda r: Reply(200, b"<html><body>Sign in</body></html>", {"Content-Type": "text/html"}),
        "profile.install",
        "the profile is neither a property list nor a CMS-signed one",
        None,
    ),
    ("an empty 200", lambda r: Reply(200, b""), "profile.fetch", "an empty body instead of a profile", 200),
    (
        "garbage bytes",
        lambda r: Reply(200, bytes(range(256)) * 4, {"Content-Type": ASPEN}),
        "profile.install",
        "is neither a property list nor a CMS-signed one",
        None,
    ),
    (
        "a property list that is not a profile",
        lambda r: Reply(200, plistlib.dumps({"Hello": "world"}), {"Content-Type": ASPEN}),
        "profile.install",
        "not a configuration profile",
        None,
    ),
    (
        "over the size limit",
        lambda r: Reply(200, plistlib.dumps({"Padding": "x" * 70_000}), {"Content-Type": ASPEN}),
        "profile.fetch",
        "larger than 65536 bytes",
        200,
    ),
    ("dropped before answering", lambda r: DROP, "profile.fetch", "closed the connection", None),
    (
        "dropped mid-body",
        lambda r: Reply(200, b"<?xml version", {"Content-Type": ASPEN}, declared_length=5000),
        "profile.fetch",
        "closed the connection",
        None,
    ),
    ("never answers", lambda r: HANG, "profile.fetch", "did not answer within 1.5 seconds", None),
]


@pytest.mark.parametrize(
    ("route", "step", "reason", "status"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
async def test_profile_url(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    route: Any,
    step: str,
    reason: str,
    status: int | None,
) -> None:
    bad_mdm.routes["/enroll"] = route
    await activated(client, mdm, iphone, bad_mdm.base_url + "/enroll")
    report = await reported(live, pg, iphone, "enroll", step=step, reason=reason, status=status)
    assert report["outcome"] == "failed"
    assert bad_mdm.received("/checkin") == []


async def test_a_profile_whose_signature_does_not_verify(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    tampered = _tampered(bad_mdm)
    bad_mdm.routes["/enroll"] = lambda r: Reply(200, tampered, {"Content-Type": ASPEN})
    await activated(client, mdm, iphone, bad_mdm.base_url + "/enroll")
    report = await reported(
        live, pg, iphone, "enroll", step="profile.install", reason="the profile's signature does not hold"
    )
    assert report["profile"]["signed"] is True and report["profile"]["signature_valid"] is False


async def test_a_connection_refused(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
) -> None:
    from dep_emulator.testing.server import free_port

    await activated(client, mdm, iphone, f"http://127.0.0.1:{free_port()}/enroll")
    await reported(live, pg, iphone, "enroll", step="profile.fetch", reason="could not connect")


async def test_one_redirect_is_followed(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, bad_mdm: MisbehavingMdm
) -> None:
    """The bound is on loops, not on redirects: an MDM that moved its enrollment URL still enrolls."""
    default = bad_mdm.default_routes()["/enroll"]
    bad_mdm.routes["/old"] = _redirect("/enroll", 301)
    bad_mdm.routes["/enroll"] = default
    await activated(client, mdm, iphone, bad_mdm.base_url + "/old")
    response = await client.post(f"/emulator/v1/devices/{iphone}/enroll")
    assert response.status_code == 200 and response.json()["outcome"] == "enrolled", response.text
    assert [r.path for r in bad_mdm.requests[:2]] == ["/old", "/enroll"]


async def test_activate_with_enroll_reports_the_same_in_words(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    """`activate {"enroll": true}`, the call of issue 28's report: the refusal in words, and the
    next request on the same connection answered."""
    bad_mdm.routes["/enroll"] = lambda r: Reply(503, b"", {"Retry-After": "30"})
    from tests.dep_helpers import assign, define

    uuid = (await define(mdm, url=bad_mdm.base_url + "/enroll"))["profile_uuid"]
    await assign(mdm, uuid, [iphone])
    response = await live.post(f"/emulator/v1/devices/{iphone}/activate", json={"enroll": True})
    assert response.status_code == 200, response.text
    enrollment = response.json()["enrollment"]
    assert enrollment["outcome"] == "failed"
    assert "retry after 30 seconds" in enrollment["failure"]
    again = await live.get(f"/emulator/v1/devices/{iphone}/mdm/exchanges")
    assert again.status_code == 200 and again.json()["exchanges"][-1]["step"] == "profile.fetch"
    from tests.device_setup.matrix import local_port

    assert local_port(again) == local_port(response)


_ = Request  # the routes above take a Request
