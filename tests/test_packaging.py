"""The wheel as a user installs it: one import package, `dep_emulator`, beside a project of their own.

A real user project (its own `app` and `migrations` packages, its own tests) gets the wheel and pytest
in a fresh virtual environment, and its suite uses our plugin's fixtures: once with an emulator the
plugin starts, once with one that was already running (`--depemu-url`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dep_emulator.testing.server import free_port

ROOT = Path(__file__).resolve().parent.parent

USER_APP = '''
"""The user's own service: a DEP client of theirs, signed with oauthlib."""
import httpx
from oauthlib.oauth1 import Client

OWNER = "user project"


def account(base_url, credentials):
    signer = Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.access_token,
        resource_owner_secret=credentials.access_secret,
    )
    headers = {"User-Agent": "user-mdm/1.0", "X-Server-Protocol-Version": "3"}
    uri, signed, _ = signer.sign(f"{base_url}/session", headers=headers)
    token = httpx.get(uri, headers=signed, timeout=30).json()["auth_session_token"]
    answer = httpx.get(f"{base_url}/account", headers={**headers, "X-ADM-Auth-Session": token}, timeout=30)
    return answer.json()
'''

USER_TESTS = """
import app
import migrations
from app.dep import account


def test_our_app_is_ours(depemu_mdm_server, depemu):
    assert app.OWNER == "user project" and migrations.OWNER == "user project"
    answer = account(depemu.base_url, depemu_mdm_server.credentials)
    assert answer["server_uuid"] == depemu_mdm_server.server_uuid
    assert answer["server_name"] == depemu_mdm_server.server_name


def test_each_test_starts_from_nothing(depemu_control):
    assert depemu_control.get("/orgs") == {"orgs": []}  # the previous test's org was reset away
"""


def run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{argv} → {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def user_pytest(python: Path, project: Path, env: dict[str, str], *args: str) -> str:
    """The user's `python -m pytest -q` in their project; its output."""
    return run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, cwd=project, env=env)


@pytest.fixture(scope="module")
def wheel() -> Path:
    out = Path(tempfile.mkdtemp(prefix="depemu-wheel-"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT)
    (built,) = out.glob("dep_emulator-*.whl")
    return built


@pytest.fixture(scope="module")
def user_project(wheel: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """(project dir, its venv's python, an environment without our test settings)."""
    base = Path(tempfile.mkdtemp(prefix="depemu-user-"))
    project = base / "project"
    for package in ("app", "migrations"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text('OWNER = "user project"\n')
    (project / "app" / "dep.py").write_text(textwrap.dedent(USER_APP))
    (project / "tests").mkdir()
    (project / "tests" / "test_dep.py").write_text(textwrap.dedent(USER_TESTS))
    run(sys.executable, "-m", "venv", base / "venv")
    python = base / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", wheel, "pytest")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPEMU_", "PYTEST_"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    yield project, python, env


def test_the_wheel_holds_dep_emulator_and_nothing_else(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"dep_emulator", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    packages = {p.parent.relative_to(ROOT / "app") for p in (ROOT / "app").rglob("__init__.py")}
    for package in packages:  # every folder of app/ is in pyproject's package list
        assert f"dep_emulator/{package.as_posix()}/__init__.py".replace("/./", "/") in names, package
    assert "dep_emulator/migrations/env.py" in names
    assert "dep_emulator/migrations/script.py.mako" in names
    versions = {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert versions <= {
        n.rsplit("/", 1)[1] for n in names if n.startswith("dep_emulator/migrations/versions/")
    }
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "dep-emulator = dep_emulator.cli:main" in text
    assert "dep_emulator = dep_emulator.testing.plugin" in text


def test_a_user_project_with_its_own_app_runs_its_tests_with_the_plugin(
    user_project: tuple[Path, Path, dict[str, str]],
) -> None:
    project, python, env = user_project
    where = run(
        python, "-c", "import app, migrations; print(app.__file__, migrations.__file__)", cwd=project, env=env
    )
    assert where.split() == [
        str(project / "app" / "__init__.py"),
        str(project / "migrations" / "__init__.py"),
    ]
    out = user_pytest(python, project, env)
    assert "2 passed" in out, out


def test_the_plugin_documents_its_fixtures_and_options(
    user_project: tuple[Path, Path, dict[str, str]],
) -> None:
    project, python, env = user_project
    fixtures = user_pytest(python, project, env, "--fixtures")
    for name in ("depemu_emulator", "depemu", "depemu_control", "depemu_org", "depemu_mdm_server"):
        block = fixtures.split(f"\n{name} ", 1)[1].split("\n\n", 1)[0]
        assert "no docstring available" not in block, block
    helptext = user_pytest(python, project, env, "--help")
    group = helptext.split("dep-emulator (", 1)[1]
    assert "--depemu-url=URL" in group and "DEPEMU_PLUGIN_URL" in group and "--depemu-admin-token" in group


def test_the_user_tests_pass_against_an_emulator_that_is_already_running(
    user_project: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    project, python, env = user_project
    port = free_port()
    serve_env = {**env, "DEPEMU_PORT": str(port), "DEPEMU_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [python.parent / "dep-emulator", "serve"], env=serve_env, stdout=log, stderr=log
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "dep-emulator serve did not become ready"
            time.sleep(0.2)
        httpx.post(f"{base_url}/emulator/v1/orgs", json={"name": "Left Over"}, timeout=10).raise_for_status()
        out = user_pytest(python, project, env, "--depemu-url", base_url)
        assert "2 passed" in out, out
        # The per-test reset applied to the running instance too: the org made before the run is gone.
        assert httpx.get(f"{base_url}/emulator/v1/orgs", timeout=10).json() == {"orgs": []}
        # And the environment variable works the same as the option.
        out = user_pytest(python, project, {**env, "DEPEMU_PLUGIN_URL": base_url})
        assert "2 passed" in out, out
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def test_an_unreachable_url_fails_the_session_with_a_reason(
    user_project: tuple[Path, Path, dict[str, str]],
) -> None:
    project, python, env = user_project
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--depemu-url", url],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"no dep-emulator answers at {url}" in result.stdout
