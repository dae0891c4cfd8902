"""`dep-emulator seed FILE` against a live instance, and `serve --seed` refusing a bad file up front."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli as run

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"


def test_seed_command_loads_the_demo_once(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "seed", str(DEMO), "--url", url, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["changed"] is True
    org = result["orgs"][0]
    assert (org["name"], org["status"], org["devices_added"], org["devices_generated"]) == (
        "Demo Org",
        "created",
        2,
        48,
    )
    code, out, err = run(capsys, "seed", str(DEMO), "--url", url)
    assert code == 0, err
    assert out.splitlines() == [f"org {org['id']} 'Demo Org': unchanged", "nothing to change"]


def test_serve_refuses_a_bad_seed_file_before_starting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("orgs:\n  - name: Org\n    mdm_servers:\n      - name: A\n        certificate: [1, 2\n")
    code, out, err = run(capsys, "serve", "--seed", str(bad), "--data-dir", str(tmp_path / "pg"))
    assert code == 1 and out == ""
    assert err.startswith(f"dep-emulator: seed file {bad}: line ")
    assert "not valid YAML" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "pg").exists()

    code, _, err = run(capsys, "seed", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read seed file" in err
