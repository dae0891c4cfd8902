"""The emulated Apple attestation CA: a P-384 root and sub CA, and the leaves it mints (§6.3).

A leaf certifies a device key: its public key is the key attested, and its extensions under
1.2.840.113635.100.8 carry the serial (.9.1), UDID (.9.2), sepOS version (.10.2), OS version
(.10.1), LLB version (.10.3) and the freshness code (.11.1: SHA-256 of the ACME token, or the
DeviceInformation nonce), each as raw octets, as step-ca reads them. `tamper` switches produce
the broken attestations negative tests need.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from .models import AttestationCA

APPLE = "1.2.840.113635.100.8."
OIDS = {
    "serial": APPLE + "9.1",
    "udid": APPLE + "9.2",
    "sepos": APPLE + "10.2",
    "freshness": APPLE + "11.1",
    "os": APPLE + "10.1",
    "llb": APPLE + "10.3",
}
TAMPERS = (
    "wrong_freshness",
    "no_freshness",
    "identifier_mismatch",
    "unknown_root",
    "other_key",
    "expired",
    "error_payload",
)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dep-emulator (emulated Apple Inc.)"),
        ]
    )


ROOT_NAME = _name("Apple Enterprise Attestation Root CA (dep-emulator)")
SUB_NAME = _name("Apple Enterprise Attestation Sub CA 1 (dep-emulator)")


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _ca_cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    now: datetime,
    days: int,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=0 if subject == SUB_NAME else None), critical=True
        )
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA384())
    )


@dataclass(frozen=True)
class Authority:
    root: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey


def _new() -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey]:
    return ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP384R1())


def create(now: datetime) -> dict[str, object]:
    """A new CA as the row to insert (root and sub CA keys generated here)."""
    root_key, sub_key = _new()
    root = _ca_cert(ROOT_NAME, root_key, ROOT_NAME, root_key, now, 20 * 365)
    sub = _ca_cert(SUB_NAME, sub_key, ROOT_NAME, root_key, now, 10 * 365)
    pem = serialization.Encoding.PEM
    return {
        "id": 1,
        "root_pem": root.public_bytes(pem).decode(),
        "root_key_pem": _pem_key(root_key),
        "intermediate_pem": sub.public_bytes(pem).decode(),
        "intermediate_key_pem": _pem_key(sub_key),
        "created_at": now,
    }


def authority(row: AttestationCA | dict[str, object]) -> Authority:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    key = serialization.load_pem_private_key(str(get("intermediate_key_pem")).encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Authority(
        x509.load_pem_x509_certificate(str(get("root_pem")).encode()),
        x509.load_pem_x509_certificate(str(get("intermediate_pem")).encode()),
        key,
    )


async def insert_new(db: AsyncSession, values: dict[str, object]) -> bool:
    """Store a CA made with `create`; False when another request stored one first."""
    inserted = await db.scalar(
        insert(AttestationCA)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[AttestationCA.id])
        .returning(AttestationCA.id)
    )
    return inserted is not None


async def load(db: AsyncSession) -> Authority:
    """The CA, created once (for every replica) on first use."""
    row = await db.scalar(select(AttestationCA).where(AttestationCA.id == 1))
    if row is None:
        await insert_new(db, await asyncio.to_thread(create, await clock.now(db)))
        row = await db.scalar(
            select(AttestationCA).where(AttestationCA.id == 1).execution_options(populate_existing=True)
        )
        assert row is not None
    return authority(row)


async def existing(db: AsyncSession) -> Authority | None:
    if await db.scalar(select(AttestationCA.id).where(AttestationCA.id == 1)) is None:
        return None
    return await load(db)


async def root_pem(db: AsyncSession) -> str:
    return (await load(db)).root.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class Subject:
    """What the leaf says about the device."""

    serial_number: str
    udid: str
    os_version: str


def sepos_version(os_version: str) -> str:
    return os_version.split(".")[0] + ".0"  # the sepOS tracks the OS major version [INFER]


def mint(
    authority: Authority,
    now: datetime,
    *,
    device: Subject,
    public_key: ec.EllipticCurvePublicKey,
    freshness: bytes | None,
    tamper: str | None = None,
    properties: str = "full",
) -> list[bytes]:
    """[leaf DER, sub CA DER]: an attestation of `public_key` (root omitted, as Apple sends it);
    `properties` partial: only the sepOS version and the freshness code; blank: every value empty
    but the freshness code (device-2026.md §7)."""
    issuer, issuer_key, chain_ca = (
        authority.intermediate.subject,
        authority.intermediate_key,
        authority.intermediate,
    )
    if tamper == "unknown_root":  # a chain to a root nobody trusts
        stranger, stranger_key = _new()
        chain_ca = _ca_cert(SUB_NAME, stranger_key, ROOT_NAME, stranger, now, 365)
        issuer_key = stranger_key
    serial, udid = device.serial_number, device.udid
    if tamper == "identifier_mismatch":
        serial, udid = "TAMPERED0000", "00000000-TAMPERED00000000"
    if tamper == "wrong_freshness" and freshness is not None:
        freshness = hashlib.sha256(b"not the challenge token").digest()
    if tamper == "no_freshness":
        freshness = None
    if tamper == "other_key":
        public_key = ec.generate_private_key(ec.SECP384R1()).public_key()
    values = {
        "serial": serial.encode(),
        "udid": udid.encode(),
        "sepos": sepos_version(device.os_version).encode(),
        "os": device.os_version.encode(),
        "llb": b"iBoot-11881.0.0",
    }
    if properties == "partial":
        values = {"sepos": values["sepos"]}
    elif properties == "blank":
        values = dict.fromkeys(values, b"")
    if freshness is not None:
        values["freshness"] = freshness
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hashlib.sha256(spki).hexdigest())]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # a day back: an ACME server on real time still accepts it after the emulator clock moved
        # a day ahead (a renewal test); Apple's exact validity is not documented
        .not_valid_before(now - (timedelta(days=2) if tamper == "expired" else timedelta(days=1)))
        .not_valid_after(now - timedelta(hours=1) if tamper == "expired" else now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    for name, value in values.items():
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(OIDS[name]), value), critical=False
        )
    leaf = builder.sign(issuer_key, hashes.SHA256())
    der = serialization.Encoding.DER
    return [leaf.public_bytes(der), chain_ca.public_bytes(der)]


def capability(device_family: str, product: str) -> str:
    """attest (A11+/M-series iPhone and iPad, Apple silicon Macs, A12+ Apple TV, Vision Pro),
    ignore (older hardware: Attest is ignored; T2 Macs) — device-2026.md §6.1."""
    name, _, numbers = product.partition(",")
    letters = name.rstrip("0123456789")
    try:
        major = int(name[len(letters) :])
    except ValueError:
        return "ignore"
    minimum = {
        "iPhone": 10,
        "iPad": 8,
        "AppleTV": 11,
        "RealityDevice": 1,
        "Mac": 13,
        "MacBookPro": 17,
        "MacBookAir": 10,
        "Macmini": 9,
        "iMac": 21,
    }.get(letters)
    if minimum is None:
        return "ignore"
    return "attest" if major >= minimum else "ignore"
