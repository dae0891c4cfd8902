"""Putting devices on MDM servers for the profile, activation and activation-lock tests.

Everything goes through the devices control API (POST /emulator/v1/orgs/{id}/devices and
.../assignments), so the devices are exactly what any other route would produce.
"""

from __future__ import annotations

from typing import Any

import httpx


async def add_devices(
    client: httpx.AsyncClient,
    *,
    org_id: str,
    server_uuid: str | None,
    count: int = 3,
    families: list[str] | None = None,
    seed: int = 1,
) -> list[str]:
    """Generate `count` devices in the org, assigned to `server_uuid` (None: unassigned); their serials."""
    generate: dict[str, object] = {"count": count, "seed": seed}
    if families is not None:
        generate["families"] = families
    response = await client.post(f"/emulator/v1/orgs/{org_id}/devices", json={"generate": generate})
    assert response.status_code == 201, response.text
    serials: list[str] = response.json()["serials"]
    if server_uuid is not None:
        await move_devices(client, org_id=org_id, server_uuid=server_uuid, serials=serials)
    return serials


async def move_devices(
    client: httpx.AsyncClient, *, org_id: str, server_uuid: str | None, serials: list[str]
) -> dict[str, str]:
    """Assign, move (Apple's "Edit MDM Server") or unassign (None) devices in the portal."""
    response = await client.post(
        f"/emulator/v1/orgs/{org_id}/assignments", json={"server_uuid": server_uuid, "serials": serials}
    )
    assert response.status_code == 200, response.text
    results: dict[str, str] = response.json()["results"]
    return results


async def ok(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 200 answer (the assertion names the body otherwise)."""
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data
