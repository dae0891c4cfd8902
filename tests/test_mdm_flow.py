"""The whole flow as an MDM server lives it, over real HTTP (issue 2's acceptance test).

Key pair and certificate → org and server → certificate upload → token download → decrypt
(openssl CLI and the `cryptography` library) → `/session` signed by requests-oauthlib →
`/account` at protocol versions 1, 3 and 10.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import asyncpg
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs7
from dep_emulator.core.config import Settings
from dep_emulator.testing.server import live_server
from requests_oauthlib import OAuth1

from tests.conftest import make_certificate

UA = {"User-Agent": "fleetdm/nanodep"}


def decrypt_with_openssl(token_file: Path, key_file: Path) -> bytes:
    result = subprocess.run(
        ["openssl", "smime", "-decrypt", "-in", str(token_file), "-inkey", str(key_file)],
        capture_output=True,
        check=True,
    )
    return result.stdout


def decrypt_with_cryptography(token: bytes, cert_pem: bytes, key_pem: bytes) -> bytes:
    """cryptography reads DER only; Apple's token is BER, so openssl re-encodes the same structure."""
    _, _, body = token.partition(b"\n\n")
    ber = base64.b64decode(body)
    der = subprocess.run(
        ["openssl", "cms", "-cmsout", "-inform", "DER", "-outform", "DER"],
        input=ber,
        capture_output=True,
        check=True,
    ).stdout
    key = load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return pkcs7.pkcs7_decrypt_der(der, x509.load_pem_x509_certificate(cert_pem), key, [])


def token_json(inner: bytes) -> dict[str, str]:
    text = inner.decode()
    assert text.startswith(
        "Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
    )
    message = text.split("-----BEGIN MESSAGE-----\n", 1)[1].split("\n-----END MESSAGE-----", 1)[0]
    return dict(json.loads(message))


def session(base_url: str, creds: dict[str, str], realm: str | None) -> requests.Response:
    auth = OAuth1(
        creds["consumer_key"],
        client_secret=creds["consumer_secret"],
        resource_owner_key=creds["access_token"],
        resource_owner_secret=creds["access_secret"],
        signature_method="HMAC-SHA1",
        realm=realm,
    )
    return requests.get(f"{base_url}/session", auth=auth, headers=UA, timeout=10)


def account(base_url: str, auth_session: str, version: str) -> requests.Response:
    return requests.get(
        f"{base_url}/account",
        headers={**UA, "X-ADM-Auth-Session": auth_session, "X-Server-Protocol-Version": version},
        timeout=10,
    )


@pytest.mark.usefixtures("pg")
def test_mdm_flow_end_to_end(settings: Settings, tmp_path: Path) -> None:
    cert_pem, key_pem = make_certificate("nanodep tokenpki")
    (tmp_path / "key.pem").write_bytes(key_pem)

    with live_server(settings) as base_url:
        org = requests.post(f"{base_url}/emulator/v1/orgs", json={"name": "Example Org"}, timeout=10).json()
        server = requests.post(
            f"{base_url}/emulator/v1/orgs/{org['id']}/mdm-servers",
            json={"server_name": "mdmserver1"},
            timeout=10,
        ).json()
        uuid = server["server_uuid"]
        uploaded = requests.put(
            f"{base_url}/emulator/v1/mdm-servers/{uuid}/certificate", data=cert_pem, timeout=10
        )
        assert uploaded.status_code == 200

        download = requests.post(f"{base_url}/emulator/v1/mdm-servers/{uuid}/token", timeout=10)
        assert download.status_code == 200
        token = download.content
        (tmp_path / "token.p7m").write_bytes(token)

        creds = token_json(decrypt_with_openssl(tmp_path / "token.p7m", tmp_path / "key.pem"))
        assert token_json(decrypt_with_cryptography(token, cert_pem, key_pem)) == creds
        assert list(creds) == [
            "consumer_key",
            "consumer_secret",
            "access_token",
            "access_secret",
            "access_token_expiry",
        ]
        assert creds["consumer_key"] == server["consumer_key"]

        for realm in (None, "ADM"):
            response = session(base_url, creds, realm)
            assert response.status_code == 200, response.text
        auth_session = response.json()["auth_session_token"]

        v1 = account(base_url, auth_session, "1").json()
        assert v1["server_uuid"] == uuid and "org_id" not in v1 and "urls" not in v1
        v3 = account(base_url, auth_session, "3").json()
        assert v3["org_id"] == org["id"] and v3["org_type"] == "org" and isinstance(v3["urls"], list)
        v10 = account(base_url, auth_session, "10").json()
        assert v10 == v3

        # A second download supersedes the first token.
        second = requests.post(f"{base_url}/emulator/v1/mdm-servers/{uuid}/token", timeout=10)
        (tmp_path / "token2.p7m").write_bytes(second.content)
        new_creds = token_json(decrypt_with_openssl(tmp_path / "token2.p7m", tmp_path / "key.pem"))
        assert new_creds["consumer_key"] == creds["consumer_key"]
        assert new_creds["access_token"] != creds["access_token"]
        refused = session(base_url, creds, "ADM")
        assert (refused.status_code, refused.text) == (401, "oauth_problem=token_rejected")
        assert session(base_url, new_creds, None).status_code == 200

        # A year on the clock later the token has expired.
        requests.post(f"{base_url}/emulator/v1/clock", json={"advance_seconds": 366 * 86400}, timeout=10)
        expired = session(base_url, new_creds, None)
        assert (expired.status_code, expired.text) == (401, "oauth_problem=token_expired")


def test_token_expiry_is_one_year_from_the_clock(settings: Settings, pg: asyncpg.Connection) -> None:
    cert_pem, _ = make_certificate()
    with live_server(settings) as base_url:
        requests.post(f"{base_url}/emulator/v1/clock", json={"advance_seconds": 86400}, timeout=10)
        now = requests.get(f"{base_url}/emulator/v1/clock", timeout=10).json()["now"]
        org = requests.post(f"{base_url}/emulator/v1/orgs", json={"name": "O"}, timeout=10).json()
        server = requests.post(
            f"{base_url}/emulator/v1/orgs/{org['id']}/mdm-servers",
            json={"server_name": "S", "certificate_pem": cert_pem.decode()},
            timeout=10,
        ).json()
        requests.post(f"{base_url}/emulator/v1/mdm-servers/{server['server_uuid']}/token", timeout=10)
        creds = requests.get(
            f"{base_url}/emulator/v1/mdm-servers/{server['server_uuid']}/oauth-credentials", timeout=10
        ).json()
    year, rest = now[:4], now[4:10]
    assert creds["access_token_expiry"].startswith(f"{int(year) + 1}{rest}")
    assert creds["access_token_expiry"].endswith("Z") and len(creds["access_token_expiry"]) == 20
