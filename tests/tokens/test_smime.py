"""Server token .p7m: byte layout (spec §3.2/§3.3) and decryptability by openssl and cryptography."""

from __future__ import annotations

import base64
import datetime
import email
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from dep_emulator.core.certificates import InvalidCertificate, load_certificate
from dep_emulator.tokens.smime import build_token_inner, envelope_server_token

HEADERS = (
    b'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data\n'
    b"Content-Transfer-Encoding: base64\n"
    b'Content-Disposition: attachment; filename="smime.p7m"\n'
    b"Content-Description: S/MIME Encrypted Message\n"
    b"\n"
)

CREDENTIALS = {
    "consumer_key": "CK_" + "3f9a0c" * 16,
    "consumer_secret": "CS_" + "0123456789abcdef0123456789abcdef01234567",
    "access_token": "AT_O8474885631O" + "e8dd" * 10 + "O1737111741803",
    "access_secret": "AS_" + "fedcba9876543210fedcba9876543210fedcba98",
    "access_token_expiry": "2026-01-17T11:02:21Z",
}

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


def _self_signed(private_key) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dep-emulator test MDM")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(private_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_pem(rsa_key) -> bytes:
    return _self_signed(rsa_key).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def inner() -> bytes:
    return build_token_inner(CREDENTIALS)


@pytest.fixture(scope="module")
def token(cert_pem, inner) -> bytes:
    return envelope_server_token(load_certificate(cert_pem), inner)


@pytest.fixture
def files(tmp_path: Path, rsa_key, token) -> dict[str, Path]:
    key_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    paths = {
        "token": tmp_path / "mdm_Token_2025-01-17T11-02-21Z_smime.p7m",
        "key": tmp_path / "key.pem",
        "der": tmp_path / "token.der",
    }
    paths["token"].write_bytes(token)
    paths["key"].write_bytes(key_pem)
    paths["der"].write_bytes(_der_payload(token))
    return paths


def _der_payload(token: bytes) -> bytes:
    """Decode like nanodep/MicroMDM: MIME headers up to the blank line, base64-decode the rest."""
    head, sep, body = token.partition(b"\n\n")
    assert sep, "no blank line after the MIME headers"
    return base64.b64decode(b"".join(body.split(b"\n")), validate=True)


def _openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


# --- inner content -------------------------------------------------------------------


def test_inner_content_is_byte_exact(inner):
    expected_json = (
        '{"consumer_key":"' + CREDENTIALS["consumer_key"] + '",'
        '"consumer_secret":"' + CREDENTIALS["consumer_secret"] + '",'
        '"access_token":"' + CREDENTIALS["access_token"] + '",'
        '"access_secret":"' + CREDENTIALS["access_secret"] + '",'
        '"access_token_expiry":"2026-01-17T11:02:21Z"}'
    )
    assert inner == (
        b"Content-Type: text/plain;charset=UTF-8\r\n"
        b"Content-Transfer-Encoding: 7bit\r\n"
        b"\r\n"
        b"-----BEGIN MESSAGE-----\n" + expected_json.encode() + b"\n-----END MESSAGE-----\n"
    )


def test_inner_key_order_does_not_depend_on_input_order():
    reversed_input = dict(reversed(list(CREDENTIALS.items())))
    assert build_token_inner(reversed_input) == build_token_inner(CREDENTIALS)


def test_inner_rejects_missing_or_extra_keys():
    with pytest.raises(ValueError):
        build_token_inner({k: v for k, v in CREDENTIALS.items() if k != "access_secret"})
    with pytest.raises(ValueError):
        build_token_inner({**CREDENTIALS, "extra": "x"})


# --- outer file ------------------------------------------------------------------------


def test_headers_are_byte_exact(token):
    assert token.startswith(HEADERS)
    assert b"\r" not in token


def test_base64_body_layout(token):
    body = token[len(HEADERS) :]
    assert body.startswith(b"MIAGCSqGSIb3DQEHA6CA")
    assert body.endswith(b"\n")
    lines = body[:-1].split(b"\n")
    assert all(len(line) == 76 for line in lines[:-1])
    assert 0 < len(lines[-1]) <= 76


def test_ber_structure_prefix(token, cert_pem):
    der = _der_payload(token)
    # ContentInfo(indef) envelopedData [0](indef) EnvelopedData(indef) version 0, recipientInfos SET
    assert der.startswith(bytes.fromhex("3080 0609 2a864886f70d010703 a080 3080 020100 31"))
    assert der.endswith(b"\x00\x00" * 5)
    cert = load_certificate(cert_pem)
    assert cert.issuer.public_bytes() in der  # issuerAndSerialNumber


def test_mime_parser_sees_the_headers(token):
    msg = email.message_from_bytes(token)
    assert msg.get_content_type() == "application/pkcs7-mime"
    assert msg.get_param("smime-type") == "enveloped-data"
    assert msg["Content-Transfer-Encoding"] == "base64"
    assert msg.get_payload(decode=True) == _der_payload(token)


def test_each_envelope_uses_fresh_key_and_iv(cert_pem, inner):
    cert = load_certificate(cert_pem)
    assert envelope_server_token(cert, inner) != envelope_server_token(cert, inner)


# --- decryption -----------------------------------------------------------------------------


@needs_openssl
@pytest.mark.parametrize("tool", ["smime", "cms"])
def test_openssl_decrypts_mime_file(tool, files, inner):
    assert _openssl(tool, "-decrypt", "-in", str(files["token"]), "-inkey", str(files["key"])) == inner


@needs_openssl
def test_asn1parse_shows_algorithms(files):
    out = _openssl("asn1parse", "-inform", "DER", "-in", str(files["der"])).decode()
    assert ":pkcs7-envelopedData" in out
    assert ":rsaEncryption" in out
    assert ":aes-128-cbc" in out
    assert ":pkcs7-data" in out
    assert "l=inf" in out


@needs_openssl
def test_cryptography_decrypts_der_reencoding(files, cert_pem, rsa_key, inner):
    # cryptography 50's pkcs7_decrypt_der only accepts DER and rejects Apple-style indefinite
    # lengths, so let openssl re-encode the very same structure to DER first.
    der = _openssl("cms", "-cmsout", "-inform", "DER", "-in", str(files["der"]), "-outform", "DER")
    assert pkcs7.pkcs7_decrypt_der(der, load_certificate(cert_pem), rsa_key, []) == inner


def test_json_between_markers_parses_in_order(inner):
    text = inner.decode("ascii")
    start = text.index("-----BEGIN MESSAGE-----\n") + len("-----BEGIN MESSAGE-----\n")
    end = text.index("-----END MESSAGE-----")
    payload = "".join(text[start:end].splitlines())
    parsed = json.loads(payload)
    assert list(parsed) == list(CREDENTIALS)
    assert parsed == CREDENTIALS


# --- load_certificate -------------------------------------------------------------------------


def test_load_certificate_accepts_str_and_bytes(cert_pem):
    assert load_certificate(cert_pem) == load_certificate(cert_pem.decode())


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda key, pem: b"hello, this is not a certificate", id="garbage"),
        pytest.param(lambda key, pem: "", id="empty"),
        pytest.param(
            lambda key, pem: key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            id="private-key",
        ),
        pytest.param(
            lambda key, pem: x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER),
            id="der-not-pem",
        ),
        pytest.param(lambda key, pem: pem + pem, id="two-certs"),
        pytest.param(
            lambda key, pem: _self_signed(ec.generate_private_key(ec.SECP256R1())).public_bytes(
                serialization.Encoding.PEM
            ),
            id="ec-cert",
        ),
    ],
)
def test_load_certificate_rejects(make, rsa_key, cert_pem):
    with pytest.raises(InvalidCertificate) as excinfo:
        load_certificate(make(rsa_key, cert_pem))
    assert isinstance(excinfo.value, ValueError)
    assert str(excinfo.value)


@needs_openssl
def test_openssl_decrypts_multi_chunk_content(tmp_path, files, cert_pem):
    big = b"x" * 5000  # > one 1024-byte OCTET STRING chunk of encryptedContent
    path = tmp_path / "big.p7m"
    path.write_bytes(envelope_server_token(load_certificate(cert_pem), big))
    assert _openssl("cms", "-decrypt", "-in", str(path), "-inkey", str(files["key"])) == big
