"""The misbehaving-MDM matrix: check-in and the command loop answer badly (issue 28).

Check-in rows enroll (`POST .../enroll`: Authenticate is refused); command-loop rows poll an
enrolled device (`POST .../mdm/poll`). Each through `matrix.reported`: a 200 JSON report naming
the step and the reason in words, the database unchanged, the exchanges on record, and the next
request on the same keep-alive connection to a real uvicorn-served emulator.
"""

from __future__ import annotations

import plistlib
from typing import Any

import asyncpg
import httpx
import pytest

from tests.device_setup.matrix import (
    activated,
    bad_mdm,
    enrolled,
    iphone,
    live,
    local_port,
    reported,
    settings_overrides,
)
from tests.device_setup.misbehaving_mdm import (
    DROP,
    HANG,
    MisbehavingMdm,
    Reply,
    Request,
    command,
    plist_reply,
)

__all__ = ["bad_mdm", "iphone", "live", "settings_overrides"]  # fixtures used by every row

REFUSALS: list[tuple[str, Any, str, int | None]] = [
    ("401", lambda r: Reply(401, b""), "401 Unauthorized", 401),
    ("403", lambda r: Reply(403, b"forbidden"), "the MDM refused the device (HTTP 403): forbidden", 403),
    ("410", lambda r: Reply(410, b""), "410 Gone: the enrollment is no longer known", 410),
    ("500", lambda r: Reply(500, b"oops"), "the MDM answered HTTP 500: oops", 500),
    ("timeout", lambda r: HANG, "the MDM did not answer within 1.5 seconds", None),
    ("dropped", lambda r: DROP, "the MDM closed the connection without a complete answer", None),
]
REFUSAL_IDS = [r[0] for r in REFUSALS]


@pytest.mark.parametrize(
    ("route", "reason", "status"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_check_in(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    route: Any,
    reason: str,
    status: int | None,
) -> None:
    bad_mdm.routes["/checkin"] = route
    await activated(client, mdm, iphone, bad_mdm.base_url + "/enroll")
    report = await reported(
        live, pg, iphone, "enroll", step="checkin.Authenticate", reason=reason, status=status
    )
    assert report["outcome"] == "failed"
    assert (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).status_code == 409  # not enrolled


@pytest.mark.parametrize(
    ("route", "reason", "status"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_command_loop_connection(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    route: Any,
    reason: str,
    status: int | None,
) -> None:
    await enrolled(client, mdm, iphone, bad_mdm)
    bad_mdm.routes["/mdm"] = route
    report = await reported(live, pg, iphone, "mdm/poll", step="connect.Idle", reason=reason, status=status)
    assert (report["outcome"], report["commands"]) == ("stopped", 0)


ANSWERS: list[tuple[str, bytes, str]] = [
    ("not a plist", b"\x00 this is not a plist {", "not a property list"),
    ("a plist without CommandUUID", plistlib.dumps(command("ProfileList", uuid=None)), "no CommandUUID"),
    ("a plist that is not a dictionary", plistlib.dumps(["CommandUUID"]), "no CommandUUID"),
    ("a plist without Command", plistlib.dumps({"CommandUUID": "X"}), "no Command dictionary"),
]


@pytest.mark.parametrize(("answer", "reason"), [r[1:] for r in ANSWERS], ids=[r[0] for r in ANSWERS])
async def test_a_command_that_is_not_one(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    answer: bytes,
    reason: str,
) -> None:
    await enrolled(client, mdm, iphone, bad_mdm)
    bad_mdm.routes["/mdm"] = lambda r: Reply(200, answer, {"Content-Type": "application/xml"})
    report = await reported(live, pg, iphone, "mdm/poll", step="connect.Idle", reason=reason, status=200)
    assert (report["outcome"], report["commands"]) == ("stopped", 0)


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        (command(None, "no-type"), "The command has no RequestType."),
        (command("Teleport", "unknown-type"), "The request type 'Teleport' is not supported by this device."),
    ],
    ids=["a plist without RequestType", "an unknown RequestType"],
)
async def test_a_command_the_device_cannot_run(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    sent: dict[str, Any],
    said: str,
) -> None:
    """A device answers a command it cannot run with Error and an ErrorChain, and goes on."""
    await enrolled(client, mdm, iphone, bad_mdm)
    bad_mdm.commands = [sent]
    response = await live.post(f"/emulator/v1/devices/{iphone}/mdm/poll")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["outcome"], report["commands"]) == ("idle", 1)
    step = report["steps"][1]
    assert step["command_uuid"] == sent["CommandUUID"] and step["ok"] is True
    assert step["detail"] == f"the device answered Error: {said}"
    result = bad_mdm.received("/mdm")[-1].plist()
    assert result["Status"] == "Error" and result["ErrorChain"][0]["USEnglishDescription"] == said
    again = await live.get(f"/emulator/v1/devices/{iphone}/mdm/exchanges")
    assert again.json()["exchanges"][-1]["detail"] == step["detail"]
    assert local_port(again) == local_port(response)


async def test_the_same_command_forever(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    """Bounded by mdm_max_commands_per_poll (5 here): the poll ends with a clear report."""
    await enrolled(client, mdm, iphone, bad_mdm)
    bad_mdm.routes["/mdm"] = lambda r: plist_reply(command("DeviceInformation", "again", Queries=["UDID"]))
    report = await reported(
        live,
        pg,
        iphone,
        "mdm/poll",
        step="command.DeviceInformation",
        reason="more than 5 commands",
        status=200,
    )
    assert (report["outcome"], report["commands"]) == ("stopped", 5)
    assert len(bad_mdm.received("/mdm")) == 6  # Idle and five results


async def test_a_connection_dropped_after_the_answer_was_sent(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    """The device ran the command and sent its result; the MDM hung up instead of answering.
    What the command did stays done (the device locked itself); the report says what happened."""
    await enrolled(client, mdm, iphone, bad_mdm)

    def lock_then_hang_up(request: Request) -> Any:
        if request.plist().get("Status") == "Idle":
            return plist_reply(command("DeviceLock", "lock-1", Message="Lost"))
        return DROP

    bad_mdm.routes["/mdm"] = lock_then_hang_up
    report = await reported(
        live,
        pg,
        iphone,
        "mdm/poll",
        step="command.DeviceLock",
        reason="closed the connection without a complete answer",
        unchanged=False,
    )
    assert "after the device sent its result for lock-1" in report["problem"]
    assert bad_mdm.received("/mdm")[-1].plist()["Status"] == "Acknowledged"
    state = (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).json()
    assert state["lock"] == {"Message": "Lost"}


async def test_what_the_mdm_chooses_is_bounded_where_it_is_stored(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    """A RequestType and a CommandUUID longer than the exchange log's columns, and an installed
    profile whose PayloadVersion is not a number: answered and recorded, never a database error."""
    await enrolled(client, mdm, iphone, bad_mdm)
    profile = {
        "PayloadType": "Configuration",
        "PayloadIdentifier": "com.example.odd-version",
        "PayloadUUID": "55555555-0000-4000-8000-000000000001",
        "PayloadVersion": "one",
        "PayloadContent": [],
    }
    bad_mdm.commands = [
        command("R" * 300, "U" * 300),
        command("InstallProfile", "odd", Payload=plistlib.dumps(profile)),
        command("ProfileList", "list"),
    ]
    response = await live.post(f"/emulator/v1/devices/{iphone}/mdm/poll")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["outcome"], report["commands"]) == ("idle", 3)
    assert report["steps"][1]["step"] == "command." + "R" * 40
    listed = bad_mdm.received("/mdm")[-1].plist()["ProfileList"]
    assert [(p["PayloadIdentifier"], p["PayloadVersion"]) for p in listed][-1] == (
        "com.example.odd-version",
        1,
    )
    exchanges = await live.get(f"/emulator/v1/devices/{iphone}/mdm/exchanges")
    assert exchanges.status_code == 200 and local_port(exchanges) == local_port(response)
    [long] = [e for e in exchanges.json()["exchanges"] if e["step"].startswith("command.R")]
    assert long["command_uuid"] == "U" * 100


async def test_the_mdm_never_answers_after_the_answer_was_sent(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    """The device sent its result; the MDM never answers that request (no next command, no
    empty 200). Bounded by mdm_contact_timeout_seconds (1.5 here) and reported in words."""
    await enrolled(client, mdm, iphone, bad_mdm)

    def ask_then_hang(request: Request) -> Any:
        if request.plist().get("Status") == "Idle":
            return plist_reply(command("DeviceInformation", "info-1", Queries=["UDID"]))
        return HANG

    bad_mdm.routes["/mdm"] = ask_then_hang
    report = await reported(
        live,
        pg,
        iphone,
        "mdm/poll",
        step="command.DeviceInformation",
        reason="the MDM did not answer within 1.5 seconds (after the device sent its result for info-1)",
    )
    assert (report["outcome"], report["commands"]) == ("stopped", 1)
    result = bad_mdm.received("/mdm")[-1].plist()
    assert (result["CommandUUID"], result["Status"]) == ("info-1", "Acknowledged")
