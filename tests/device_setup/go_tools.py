"""The real servers and tools the tests run, built from the Go module proxy with `go install`.

micromdm/scep's `scepserver` (a SCEP CA) and micromdm's NanoMDM (an MDM: check-in, command
queue, an API to enqueue raw command plists, Mdm-Signature verification) for the enrollment
tests; NanoHub (NanoMDM + KMFDDM) for tests/device_ddm, smallstep's step-ca (ACME with
device-attest-01) for tests/device_acme; Helm for tests/helm (lint and render
deploy/helm/dep-emulator). Binaries go to `.go-tools/bin` in the repository (git-ignored) and are
built once; `.ci/run` builds them with `python tests/device_setup/go_tools.py`. Locally without
Go the tests that need them skip, saying why. The versions are pinned here and nowhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".go-tools" / "bin"
TOOLS = {
    "scepserver": "github.com/micromdm/scep/v2/cmd/scepserver@v2.3.0",
    "nanomdm": "github.com/micromdm/nanomdm/cmd/nanomdm@v0.9.0",
    "helm": "helm.sh/helm/v3/cmd/helm@v3.22.1",
    "nanohub": "github.com/micromdm/nanohub/cmd/nanohub@v0.2.0",  # NanoMDM + NanoCMD + KMFDDM (DDM)
    "step-ca": "github.com/smallstep/certificates/cmd/step-ca@v0.30.2",  # ACME device-attest-01
}
ENV = {"step-ca": {"CGO_ENABLED": "0"}}  # with cgo step-ca wants libpcsclite


class GoMissing(Exception):
    pass


def unavailable(reason: str) -> NoReturn:
    """A real counterpart is missing: the test skips locally, saying why, and fails in CI (`CI` set),
    where .ci/run must have installed it."""
    import pytest

    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (CI must run every real counterpart: see .ci/run)")
    pytest.skip(reason)


def go_binary() -> str | None:
    return shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).exists()), None)


def tool(name: str) -> Path:
    """The path of a built tool, building it first if needed; GoMissing if there is no `go`."""
    path = BIN / name
    if path.exists():
        return path
    go = go_binary()
    if go is None:
        raise GoMissing(f"`go` is not installed, so {name} ({TOOLS[name]}) cannot be built")
    BIN.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOBIN=str(BIN), GOFLAGS="-buildvcs=false") | ENV.get(name, {})
    # step-ca takes 15-20 minutes cold on two shared cores
    subprocess.run([go, "install", TOOLS[name]], check=True, env=env, timeout=2400)
    return path


if __name__ == "__main__":  # .ci/run: build every tool (skipped when already built)
    for tool_name in TOOLS:
        print(tool(tool_name))  # noqa: T201
    sys.exit(0)
