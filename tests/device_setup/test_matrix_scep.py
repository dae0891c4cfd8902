"""The misbehaving-MDM matrix: the SCEP server answers badly (issue 28).

The enrollment profile's SCEP payload points at `fake_scep` (a route of the misbehaving MDM),
at a closed port, or at micromdm/scep's scepserver (a wrong challenge). Each row enrolls through
`matrix.reported`: the report names the step and the reason in words, the database is unchanged,
the exchanges are on record, and the next request on the same keep-alive connection works.
"""

from __future__ import annotations

import plistlib

import asyncpg
import httpx
import pytest
from cryptography import x509
from dep_emulator.device_mdm.scep_message import IssuerAndSubject

from tests.device_setup.fake_scep import ca, fake_scep, message_of, pending_cert_rep
from tests.device_setup.matrix import activated, bad_mdm, iphone, live, reported, settings_overrides
from tests.device_setup.mdm_endpoint import scep_enrollment_profile
from tests.device_setup.misbehaving_mdm import HANG, MisbehavingMdm, Reply
from tests.device_setup.real_servers import ScepServer

__all__ = ["bad_mdm", "iphone", "live", "settings_overrides"]  # fixtures used by every row


async def _enroll_against(
    client: httpx.AsyncClient, mdm: httpx.AsyncClient, iphone: str, bad: MisbehavingMdm
) -> None:
    await activated(client, mdm, iphone, bad.base_url + "/enroll")


async def test_scep_unreachable(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    from dep_emulator.testing.server import free_port

    profile = scep_enrollment_profile(
        scep_url=f"http://127.0.0.1:{free_port()}/scep", challenge="x", server_url=bad_mdm.base_url + "/mdm"
    )
    bad_mdm.routes["/enroll"] = lambda r: Reply(200, plistlib.dumps(profile))
    await _enroll_against(client, mdm, iphone, bad_mdm)
    await reported(live, pg, iphone, "enroll", step="scep", reason="the SCEP server could not be reached")


async def test_scep_refusing_a_wrong_challenge(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    scep: ScepServer,
) -> None:
    """micromdm/scep's scepserver, which enforces its challenge."""
    profile = scep_enrollment_profile(
        scep_url=scep.url, challenge="not the secret", server_url=bad_mdm.base_url + "/mdm"
    )
    bad_mdm.routes["/enroll"] = lambda r: Reply(200, plistlib.dumps(profile))
    await _enroll_against(client, mdm, iphone, bad_mdm)
    await reported(
        live,
        pg,
        iphone,
        "enroll",
        step="scep.PKIOperation",
        reason="the SCEP server refused the request: badRequest",
        status=200,
    )


async def test_scep_ca_chain_that_does_not_verify(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    fake_scep(bad_mdm).broken_chain = True
    await _enroll_against(client, mdm, iphone, bad_mdm)
    report = await reported(
        live,
        pg,
        iphone,
        "enroll",
        step="scep.GetCACert",
        reason="GetCACert's RA certificate (CN=SCEP RA) is not issued by the SCEP CA",
        status=200,
    )
    assert "the chain does not verify" in report["failure"]
    assert [r.query.get("operation") for r in bad_mdm.received("/scep")] == ["GetCACaps", "GetCACert"]


@pytest.mark.parametrize(
    ("answer", "step", "reason", "status"),
    [
        (
            lambda r: Reply(200, b"\x00garbage\xff" * 10),
            "scep.PKIOperation",
            "the SCEP answer is not a CertRep",
            200,
        ),
        (lambda r: Reply(500, b"oops"), "scep.PKIOperation", "PKIOperation answered HTTP 500: oops", 500),
        (lambda r: HANG, "scep", "the SCEP server did not answer within 1.5 seconds", None),
    ],
    ids=["garbage", "500", "never answers"],
)
async def test_scep_pki_operation(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    answer: object,
    step: str,
    reason: str,
    status: int | None,
) -> None:
    fake_scep(bad_mdm).pki_operation = answer  # type: ignore[assignment]
    await _enroll_against(client, mdm, iphone, bad_mdm)
    await reported(live, pg, iphone, "enroll", step=step, reason=reason, status=status)


async def test_scep_pending_forever(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
) -> None:
    """A CA that answers PENDING every time: the device asks again with GetCertInitial (CertPoll,
    the same transaction, IssuerAndSubject naming the CA and the request's subject) as often as
    scep_pending_retries says (2 here), then reports it in words (no endless polling)."""
    server = fake_scep(bad_mdm)
    server.pki_operation = lambda r: Reply(
        200, pending_cert_rep(r, ca()), {"Content-Type": "application/x-pki-message"}
    )
    await _enroll_against(client, mdm, iphone, bad_mdm)
    report = await reported(
        live,
        pg,
        iphone,
        "enroll",
        step="scep.GetCertInitial",
        reason="the CA left the request PENDING after 3 tries (its PKCSReq and 2 GetCertInitial; "
        "setting scep_pending_retries is 2)",
        status=200,
    )
    asked = [s for s in report["steps"] if s["step"] in ("scep.PKIOperation", "scep.GetCertInitial")]
    assert [(s["step"], s["ok"]) for s in asked] == [
        ("scep.PKIOperation", True),
        ("scep.GetCertInitial", True),
        ("scep.GetCertInitial", False),
    ]
    assert "PENDING; the device asks again with GetCertInitial" in asked[0]["detail"]
    operations = [r for r in bad_mdm.received("/scep") if r.query.get("operation") == "PKIOperation"]
    messages = [message_of(r, ca()) for r in operations]
    assert [m[0] for m in messages] == ["19", "20", "20"]  # PKCSReq, then CertPoll twice
    assert len({m[1] for m in messages}) == 1  # one transaction
    csr = x509.load_der_x509_csr(messages[0][2])
    for _, _, content in messages[1:]:
        polled = IssuerAndSubject.load(content)
        assert polled["issuer"].dump() == ca().cert.subject.public_bytes()
        assert polled["subject"].dump() == csr.subject.public_bytes()


@pytest.mark.parametrize(
    ("operation", "answered"),
    [("GetCACaps", []), ("GetCACert", ["scep.GetCACaps"])],
    ids=["GetCACaps never answers", "GetCACert never answers"],
)
async def test_scep_get_ca_never_answers(
    client: httpx.AsyncClient,
    mdm: httpx.AsyncClient,
    live: httpx.AsyncClient,
    pg: asyncpg.Connection,
    iphone: str,
    bad_mdm: MisbehavingMdm,
    operation: str,
    answered: list[str],
) -> None:
    """Bounded by mdm_contact_timeout_seconds (1.5 here), reported in words; nothing after it sent."""
    server = fake_scep(bad_mdm)
    bad_mdm.routes["/scep"] = lambda r: HANG if r.query.get("operation") == operation else server(r)
    await _enroll_against(client, mdm, iphone, bad_mdm)
    report = await reported(
        live, pg, iphone, "enroll", step="scep", reason="the SCEP server did not answer within 1.5 seconds"
    )
    assert [s["step"] for s in report["steps"] if s["step"].startswith("scep.")] == answered
    sent = [r.query.get("operation") for r in bad_mdm.received("/scep")]
    assert sent == [s.removeprefix("scep.") for s in answered] + [operation]
    assert bad_mdm.received("/checkin") == []
