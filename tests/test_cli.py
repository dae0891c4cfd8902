"""Every `dep-emulator` control command, run against a live instance."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from dep_emulator.cli.client import parse_duration

from tests.conftest import make_certificate
from tests.conftest import run_cli as run


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


def test_devices_generate_in_chunks_and_assign(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from dep_emulator.cli import commands
    from dep_emulator.devices.generator import generate_devices

    monkeypatch.setattr(commands, "GENERATE_CHUNK", 1000)
    org = run_json(capsys, "org", "create", "Devices Org", "--url", url)
    assert isinstance(org, dict)
    server = run_json(capsys, "server", "create", "--org", org["id"], "--name", "MDM", "--url", url)
    assert isinstance(server, dict)
    summary = run_json(
        capsys, "devices", "generate", "--org", org["id"], "--count", "2500", "--seed", "7",
        "--server", server["server_uuid"], "--order-number", "PO-1", "--url", url,
    )  # fmt: skip
    assert isinstance(summary, dict)
    assert summary["created"] == 2500 and summary["assignment"]["count"] == 2500
    assert summary["assignment"]["summary"] == {"assigned": 2500}

    # Three chunks of one seed are the same devices as one call would make.
    import httpx

    listed: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, object] = {"server_uuid": server["server_uuid"], "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(f"{url}/emulator/v1/orgs/{org['id']}/devices", params=params, timeout=30).json()
        listed += [d["serial_number"] for d in page["devices"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = [
        d.serial_number for d in generate_devices(2500, seed=7, order_number="PO-1", now=datetime.now(UTC))
    ]
    assert sorted(listed) == sorted(expected)

    code, out, _ = run(
        capsys, "devices", "assign", "--org", org["id"], "--unassign", expected[0], "--url", url
    )
    assert code == 0 and '"unassigned": 1' in out


def test_faults_and_journal(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    fault = run_json(
        capsys, "faults", "add", "--endpoint", "GET /account", "--status", "503", "--count", "2",
        "--retry-after", "30", "--url", url,
    )  # fmt: skip
    assert isinstance(fault, dict) and fault["endpoint"] == "GET /account" and fault["remaining"] == 2
    code, out, _ = run(capsys, "faults", "list", "--url", url)
    assert code == 0 and f"{fault['id']}  GET /account  remaining=2" in out

    import httpx

    for _ in range(3):
        httpx.get(f"{url}/account", headers={"User-Agent": "cli-test/1"}, timeout=10)
    code, out, _ = run(capsys, "journal", "tail", "--limit", "2", "--url", url)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    assert all("GET /account" in line for line in lines)
    assert "503" in lines[0] and "401 UNAUTHORIZED" in lines[1]  # oldest of the two newest first

    code, out, _ = run(capsys, "journal", "tail", "--limit", "3", "--json", "--url", url)
    entries = [json.loads(line) for line in out.splitlines()]
    assert [e["status"] for e in entries] == [503, 503, 401]
    assert all(e["user_agent"] == "cli-test/1" for e in entries)

    code, out, _ = run(capsys, "faults", "clear", "--url", url)
    assert code == 0 and "cleared" in out
    assert run_json(capsys, "faults", "list", "--url", url) == {"faults": []}


def test_devices_import_streams_a_csv_with_progress(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`devices import` uploads the file in blocks (a bar on a terminal) and assigns the devices."""
    import sys

    import httpx
    from dep_emulator.cli import commands

    monkeypatch.setattr(commands, "IMPORT_BLOCK", 64)
    org = run_json(capsys, "org", "create", "Import Org", "--url", url)
    server = run_json(capsys, "server", "create", "--org", org["id"], "--name", "MDM", "--url", url)
    assert isinstance(org, dict) and isinstance(server, dict)
    csv_file = tmp_path / "devices.csv"
    serials = [f"CLIIMPORT{i:03d}" for i in range(30)]
    csv_file.write_text("serial_number,model\n" + "".join(f"{s},iPad Air\n" for s in serials))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(
        capsys, "devices", "import", "--org", org["id"], "--server", server["server_uuid"], str(csv_file),
        "--url", url,
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == f"30 devices imported from {csv_file}, assigned to {server['server_uuid']}"
    size = csv_file.stat().st_size
    assert err.count("\ruploading [") > 2 and f"] {size}/{size}\n" in err
    page = httpx.get(
        f"{url}/emulator/v1/orgs/{org['id']}/devices",
        params={"server_uuid": server["server_uuid"], "limit": 100}, timeout=30,
    ).json()  # fmt: skip
    assert sorted(d["serial_number"] for d in page["devices"]) == serials

    code, _, err = run(capsys, "devices", "import", "--org", org["id"], str(csv_file), "--url", url)
    assert code == 1 and "409" in err and "duplicate_serials" in err
    code, _, err = run(
        capsys, "devices", "import", "--org", org["id"], str(tmp_path / "nope.csv"), "--url", url
    )
    assert code == 1 and "cannot read" in err


def test_devices_generate_shows_progress_through_the_assignment(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from dep_emulator.cli import commands

    monkeypatch.setattr(commands, "GENERATE_CHUNK", 10)
    org = run_json(capsys, "org", "create", "Progress Org", "--url", url)
    server = run_json(capsys, "server", "create", "--org", org["id"], "--name", "MDM", "--url", url)
    assert isinstance(org, dict) and isinstance(server, dict)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(
        capsys, "devices", "generate", "--org", org["id"], "--count", "25", "--server", server["server_uuid"],
        "--url", url,
    )  # fmt: skip
    assert code == 0, err
    bars = [part for part in err.split("\r") if part]
    assert [b.rsplit(" ", 1)[-1].strip() for b in bars] == ["10/25", "20/25", "25/25"]
    assert all(b.startswith("generating and assigning [") for b in bars)
