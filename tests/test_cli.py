"""Every `dep-emulator` control command, run against a live instance."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from app.cli import main
from app.cli.client import parse_duration
from app.core.config import Settings
from app.testing.server import live_server
from tests.conftest import make_certificate


@pytest.fixture
def url(settings: Settings, pg: asyncpg.Connection) -> Iterator[str]:
    with live_server(settings) as base_url:
        yield base_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("8d", 691200)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_org_server_token_and_clock(url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    org = run_json(capsys, "org", "create", "CLI Org", "--url", url)
    assert isinstance(org, dict) and org["name"] == "CLI Org"
    code, out, _ = run(capsys, "org", "list", "--url", url)
    assert code == 0 and f"{org['id']}  CLI Org" in out

    cert_pem, key_pem = make_certificate()
    (tmp_path / "mdm.pem").write_bytes(cert_pem)
    (tmp_path / "mdm.key").write_bytes(key_pem)
    token = tmp_path / "server_token.p7m"
    code, out, err = run(
        capsys, "server", "create", "--org", org["id"], "--name", "CLI MDM",
        "--cert", str(tmp_path / "mdm.pem"), "--token-out", str(token), "--url", url,
    )  # fmt: skip
    assert code == 0, err
    assert "created in org" in out and "server token written" in out
    decrypted = subprocess.run(
        ["openssl", "smime", "-decrypt", "-in", str(token), "-inkey", str(tmp_path / "mdm.key")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert '"consumer_key":"CK_' in decrypted

    clock = run_json(capsys, "clock", "advance", "8d", "--url", url)
    assert isinstance(clock, dict) and clock["offset_seconds"] == 8 * 86400
    code, out, _ = run(capsys, "clock", "show", "--url", url)
    assert code == 0 and "offset 691200 s" in out


def test_failures_exit_non_zero_with_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "server", "create", "--org", "999", "--name", "x", "--url", url)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "404" in err and "not_found" in err
    code, _, err = run(capsys, "clock", "advance", "soon", "--url", url)
    assert code == 1 and "not a duration" in err
    code, _, err = run(capsys, "org", "list", "--url", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach the emulator" in err


@pytest.mark.parametrize("settings_overrides", [{"admin_token": "cli-admin-token-123"}])
def test_admin_token(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "org", "list", "--url", url)
    assert code == 1 and "401" in err
    code, _, _ = run(capsys, "org", "list", "--url", url, "--admin-token", "cli-admin-token-123")
    assert code == 0
