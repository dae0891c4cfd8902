"""The misbehaving-MDM matrix with a real MDM: NanoMDM refuses the device at check-in (issue 28).

The misbehaving MDM serves the enrollment profile (a PKCS#12 identity its own CA issued,
com.apple.mdm at NanoMDM with SignMessage); NanoMDM trusts another CA, so it cannot verify the
device's Mdm-Signature and refuses Authenticate (with 400, deliberately not 401). Through
`matrix.reported`: the report in words, the database unchanged, the exchanges on record, and the
next request on the same keep-alive connection to a real uvicorn-served emulator.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from tests.device_setup.fake_scep import ca
from tests.device_setup.matrix import activated, bad_mdm, iphone, live, reported, settings_overrides
from tests.device_setup.misbehaving_mdm import ASPEN, MisbehavingMdm, Reply
from tests.device_setup.real_servers import NanoMdm, nanomdm

__all__ = ["bad_mdm", "iphone", "live", "settings_overrides"]  # fixtures used by every row


@pytest.fixture
def distrustful() -> Iterator[NanoMdm]:
    """NanoMDM trusting a CA that did not issue the device's identity."""
    with nanomdm(ca().cert.public_bytes(serialization.Encoding.PEM)) as running:
        yield running


async def test_nanomdm_refusing_a_signature_it_cannot_verify(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    distrustful: NanoMdm,
) -> None:
    profile = bad_mdm.profile(ServerURL=distrustful.mdm_url, CheckInURL=distrustful.mdm_url)
    bad_mdm.routes["/enroll"] = lambda r: Reply(200, profile, {"Content-Type": ASPEN})
    await activated(client, mdm, iphone, bad_mdm.base_url + "/enroll")
    report = await reported(
        live,
        pg,
        iphone,
        "enroll",
        step="checkin.Authenticate",
        reason="the MDM answered HTTP 400: Bad Request",
        status=400,
    )
    assert report["outcome"] == "failed"
    assert [s["step"] for s in report["steps"]] == [
        "profile.fetch",
        "profile.install",
        "pkcs12",
        "checkin.Authenticate",
    ]
    assert report["steps"][-1]["url"] == distrustful.mdm_url
    assert "certificate signed by unknown authority" in distrustful.log.read_text()  # NanoMDM's why
    assert bad_mdm.received("/checkin") == []  # the check-in went to NanoMDM, not to the test's MDM
    assert (await client.get(f"/emulator/v1/devices/{iphone}/mdm")).status_code == 409  # not enrolled
