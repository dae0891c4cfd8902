"""Manage Devices by each of the three ways; the MDM's DEP sync then shows exactly those devices."""

from __future__ import annotations

from pathlib import Path

from dep_emulator.testing.replicas import Replica
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot
from tests.console.helpers import Mdm, add_server, control, create_org


async def add_generated(page: Page, base: str, org_id: str, count: int, order: str = "") -> None:
    await page.goto(f"{base}/console/orgs/{org_id}/devices")
    await page.get_by_label("Number of devices").fill(str(count))
    await page.get_by_label("iPad").check()
    if order:
        await page.get_by_label("Order Number for new devices").fill(order)
    await page.get_by_role("button", name="Add Devices").click()
    await expect(page.get_by_text(f"{count} devices added.")).to_be_visible()


async def manage(page: Page, base: str, org_id: str, way: str, server_name: str, fill: str | Path) -> None:
    await page.goto(f"{base}/console/orgs/{org_id}")
    await page.get_by_role("link", name="Manage Devices").click()
    await page.get_by_role("radio", name=way).check()
    field = page.get_by_label(way, exact=True).and_(
        page.locator("textarea, input[type=text], input[type=file]")
    )
    if isinstance(fill, Path):
        await field.set_input_files(str(fill))
    elif len(fill) > 10_000:  # as pasted: typing-speed fill of thousands of lines takes minutes
        await field.evaluate("(element, value) => { element.value = value; }", fill)
    else:
        await field.fill(fill)
    await page.get_by_role("radio", name="Assign to Server").check()
    await page.get_by_label("MDM Server").select_option(label=server_name)
    await page.get_by_role("button", name="OK").click(no_wait_after=True)
    await expect(page.get_by_role("heading", name="Assignment Complete")).to_be_visible(timeout=300_000)


async def test_three_ways_then_sync_shows_exactly_those_devices_and_history_has_rows(
    page: Page, emulator: Replica, tmp_path: Path
) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Devices Ltd")
    added = await add_server(page, base, org_id, tmp_path, name="mdm-one")
    mdm = Mdm(base, added["credentials"])
    before, cursor = mdm.sync_all()
    assert before == []

    await add_generated(page, base, org_id, 4)
    await add_generated(page, base, org_id, 3, order="PO-42")
    csv_file = tmp_path / "devices.csv"
    csv_file.write_text(
        "serial_number,model,order_number\nCSVDEV0001,iPhone 15,PO-9\nCSVDEV0002,iPad Air,PO-9\n"
    )
    await page.goto(f"{base}/console/orgs/{org_id}/devices")
    await page.get_by_label("Or a CSV of devices").set_input_files(str(csv_file))
    await page.get_by_role("button", name="Add Devices").click()
    await expect(page.get_by_text("2 devices added.")).to_be_visible()
    await screenshot(page, "devices")

    inventory = (await control("GET", base, f"/orgs/{org_id}/devices?limit=1000"))["devices"]
    by_order: dict[str | None, list[str]] = {}
    for device in inventory:
        by_order.setdefault(device["order_number"], []).append(device["serial_number"])
    unordered = [s for o, serials in by_order.items() if o not in ("PO-42", "PO-9") for s in serials]
    assert len(unordered) == 4 and len(by_order["PO-42"]) == 3

    # 1. Serial Number: two of the four, separated by a comma and a new line, and one unknown.
    await manage(
        page, base, org_id, "Serial Number", "mdm-one", f"{unordered[0]},\n{unordered[1]} NOSUCHSERIAL1"
    )
    await expect(page.get_by_role("status")).to_contain_text("2 devices assigned to mdm-one")
    await expect(page.get_by_text("NOSUCHSERIAL1")).to_be_visible()
    await screenshot(page, "assignment-complete")
    # 2. Order Number.
    await manage(page, base, org_id, "Order Number", "mdm-one", "PO-42")
    await expect(page.get_by_role("status")).to_contain_text("3 devices assigned to mdm-one")
    # 3. Upload CSV File (the same CSV the control API takes).
    await manage(page, base, org_id, "Upload CSV File", "mdm-one", csv_file)
    await expect(page.get_by_role("status")).to_contain_text("2 devices assigned to mdm-one")

    chosen = {unordered[0], unordered[1], *by_order["PO-42"], "CSVDEV0001", "CSVDEV0002"}
    synced, cursor = mdm.sync_all(cursor)
    assert sorted(d["serial_number"] for d in synced) == sorted(chosen)
    assert {d["op_type"] for d in synced} == {"added"}
    assert all(d["device_assigned_by"] for d in synced)

    await page.goto(f"{base}/console/orgs/{org_id}")
    await page.get_by_role("link", name="View Assignment History").click()
    rows = page.get_by_role("row").filter(has_text="mdm-one").filter(has_text="portal")
    await expect(rows).to_have_count(len(chosen))
    await screenshot(page, "history")
    await page.get_by_label("Serial Number").fill("CSVDEV0001")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("row").filter(has_text="CSVDEV0001")).to_have_count(1)
    await expect(page.get_by_role("row").filter(has_text="CSVDEV0002")).to_have_count(0)

    # The same change through the control API is labelled as such, on the same history.
    await control(
        "POST", base, f"/orgs/{org_id}/assignments", json={"server_uuid": None, "serials": ["CSVDEV0002"]}
    )
    await page.goto(f"{base}/console/orgs/{org_id}/history?serial=CSVDEV0002")
    await expect(
        page.get_by_role("row").filter(has_text="unassigned").filter(has_text="control API")
    ).to_have_count(1)
    synced, _ = mdm.sync_all(cursor)
    assert [(d["serial_number"], d["op_type"]) for d in synced] == [("CSVDEV0002", "deleted")]


async def all_serials(base: str, org_id: str) -> list[str]:
    serials: list[str] = []
    cursor = ""
    while True:
        page = await control("GET", base, f"/orgs/{org_id}/devices?limit=1000{cursor}")
        serials += [d["serial_number"] for d in page["devices"]]
        if not page.get("next_cursor"):
            return serials
        cursor = f"&cursor={page['next_cursor']}"


async def test_thousands_of_serials_and_a_csv_of_100000_rows(
    page: Page, emulator: Replica, tmp_path: Path
) -> None:
    base = emulator.url
    org_id = await create_org(page, base, "Bulk Org")
    await control("POST", base, f"/orgs/{org_id}/mdm-servers", json={"server_name": "bulk-mdm"})
    made = await control(
        "POST", base, f"/orgs/{org_id}/devices", json={"generate": {"count": 100_000, "seed": 7}}
    )
    assert made["count"] == 100_000
    serials = await all_serials(base, org_id)
    assert len(serials) == 100_000

    # Thousands pasted into the textarea, one a line.
    await manage(page, base, org_id, "Serial Number", "bulk-mdm", "\n".join(serials[:5000]))
    await expect(page.get_by_role("status")).to_contain_text("5000 devices assigned to bulk-mdm")

    # A CSV of 100,000 rows, streamed; 5 rows are serials the org does not have.
    big = tmp_path / "big.csv"
    big.write_text(
        "serial_number,model\n"
        + "".join(f"{s},iPad\n" for s in serials[5:])
        + "".join(f"MISSING{i:05d},iPad\n" for i in range(5))
    )
    await manage(page, base, org_id, "Upload CSV File", "bulk-mdm", big)
    await expect(page.get_by_role("status")).to_contain_text("99995 devices assigned to bulk-mdm")
    await expect(page.get_by_role("listitem").filter(has_text="MISSING")).to_have_count(5)
    listed = await control("GET", base, f"/orgs/{org_id}/devices?limit=1&serial={serials[-1]}")
    assert listed["devices"][0]["server_uuid"]


async def test_add_devices_takes_a_csv_larger_than_the_request_body_limit(
    page: Page, emulator: Replica, tmp_path: Path
) -> None:
    """The Add Devices form streams its file like the control API's CSV upload (10 MiB is the
    limit for bodies that are read whole)."""
    base = emulator.url
    org_id = await create_org(page, base, "Big CSV Org")
    rows = 110_000
    big = tmp_path / "devices.csv"
    big.write_text(
        "serial_number,model,description,order_number\n"
        + "".join(
            f"BIGCSV{i:06d},iPad Pro,{'A long description of this device ' * 2},PO-BIG\n" for i in range(rows)
        )
    )
    assert big.stat().st_size > 10 * 1024 * 1024
    await page.goto(f"{base}/console/orgs/{org_id}/devices")
    await page.get_by_label("Or a CSV of devices").set_input_files(big)
    await page.get_by_role("button", name="Add Devices").click()
    await expect(page.get_by_role("status").filter(has_text="devices added")).to_contain_text(
        f"{rows} devices added", timeout=180_000
    )
    listed = await control("GET", base, f"/orgs/{org_id}/devices?limit=1&order_number=PO-BIG")
    assert listed["devices"][0]["serial_number"].startswith("BIGCSV")
