"""The daily full status report (device-2026.md §3.5): a day of emulator time after the last full
report (or the first report), the next poll sends a full report without any command; not before."""

from __future__ import annotations

import httpx

from tests.device_ddm.ddm_server import SIMPLE, TEST, DdmServer, poll, state


async def advance(client: httpx.AsyncClient, seconds: int) -> None:
    assert (await client.post("/emulator/v1/clock", json={"advance_seconds": seconds})).status_code == 200


async def test_a_day_on_the_emulator_clock_brings_a_full_report(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    ddm.put(TEST, "cfg", {"Echo": "daily"})
    ddm.put(SIMPLE, "act", {"StandardConfigurations": ["cfg"]})
    ddm.sync()
    await poll(client, device)
    assert len(ddm.reports) == 1 and ddm.reports[0]["FullReport"] is False
    first = await state(client, device)
    assert first["last_full_report_at"] is not None and first["full_report_due"] is False

    # Less than a day later: a poll sends nothing.
    await advance(client, 23 * 3600)
    ddm.checkins.clear()
    await poll(client, device)
    assert ddm.checkins == [] and len(ddm.reports) == 1
    assert (await state(client, device))["full_report_due"] is False

    # A day after the first report: due (the control API says so), sent at the next poll.
    await advance(client, 3600)
    assert (await state(client, device))["full_report_due"] is True
    polled = await poll(client, device)
    assert ddm.endpoints() == ["status"] and polled["steps"][-1]["step"] == "ddm.status"
    full = ddm.reports[-1]
    assert (
        full["FullReport"] is True and full["StatusItems"]["device"]["identifier"]["serial-number"] == device
    )
    assert {e["identifier"] for e in full["StatusItems"]["management"]["declarations"]["configurations"]} == {
        "cfg"
    }
    after = await state(client, device)
    assert after["full_report_due"] is False and after["last_full_report_at"] > first["last_full_report_at"]

    # The day counts again from that full report.
    ddm.checkins.clear()
    await advance(client, 12 * 3600)
    await poll(client, device)
    assert ddm.checkins == []
    await advance(client, 12 * 3600)
    await poll(client, device)
    assert ddm.endpoints() == ["status"] and ddm.reports[-1]["FullReport"] is True and len(ddm.reports) == 3


async def test_no_daily_report_before_ddm_is_on(
    client: httpx.AsyncClient, device: str, ddm: DdmServer
) -> None:
    await advance(client, 3 * 86400)
    await poll(client, device)
    assert ddm.checkins == [] and ddm.reports == []
    assert (await state(client, device))["full_report_due"] is False
