"""The emulator's device CA: it issues the identity certificates simulated devices sign with.

Real devices sign their machine info with an identity issued by Apple's device CA; ours plays
that role. The key and certificate live in the `device_ca` row, created on first use (the
first replica to insert wins, the others read its row), so every replica signs with the same
CA and an MDM trusts it once: `GET /emulator/v1/device-ca`.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..clock import service as clock
from ..core import keys
from .models import DeviceCA

CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "dep-emulator Device CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dep-emulator"),
    ]
)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _build_ca(key: rsa.RSAPrivateKey, now: datetime) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=20 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


async def load_ca(db: AsyncSession) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The CA certificate and key, created (once, for every replica) if missing."""
    row = await db.scalar(select(DeviceCA).where(DeviceCA.id == 1))
    if row is None:
        now = await clock.now(db)
        key = await asyncio.to_thread(_new_key)
        cert = _build_ca(key, now)
        await db.execute(
            insert(DeviceCA)
            .values(
                id=1,
                certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
                private_key_pem=_pem(key),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[DeviceCA.id])
        )
        row = await db.scalar(
            select(DeviceCA).where(DeviceCA.id == 1).execution_options(populate_existing=True)
        )
        assert row is not None
    return _parsed(row.certificate_pem, row.private_key_pem)


@functools.lru_cache(maxsize=8)
def _parsed(certificate_pem: str, private_key_pem: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The CA row parsed once per process (it is read for every identity the CA issues)."""
    loaded = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return x509.load_pem_x509_certificate(certificate_pem.encode()), loaded


async def ca_certificate_pem(db: AsyncSession) -> str:
    cert, _ = await load_ca(db)
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def issue_device_identity(
    db: AsyncSession, *, udid: str, serial: str
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A fresh identity for one device (CN = its UDID), signed by the device CA."""
    ca_cert, ca_key = await load_ca(db)
    now = await clock.now(db)
    key = await keys.device_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, udid),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dep-emulator device"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=10 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key
