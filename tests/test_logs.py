"""Logs for people and for machines (issue 33 §4): `serve` on a terminal prints readable lines,
JSON lines when its output is not a terminal or when DEPEMU_LOG_FORMAT=json.

Each test runs the real `dep-emulator serve` with its output on a pseudo-terminal (what a
newcomer's shell gives it) or on a pipe (what a container runtime or a log shipper gives it).
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from dep_emulator.testing.server import free_port

# 2026-12-07 21:03:42.123Z INFO    [-] Uvicorn running on ...
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) +\[\S+\] ")


@contextmanager
def served(database_url: str, *, terminal: bool, **env: str) -> Iterator[tuple[str, list[bytes]]]:
    """`serve` on a free port with stdout and stderr on a pseudo-terminal or a pipe; yields (url, output).

    The output list fills while the process runs; it is complete once the block has exited.
    """
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEPEMU_")}
    environment.update({"DEPEMU_DATABASE_URL": database_url, "DEPEMU_MIGRATE_ON_START": "false", **env})
    argv = [sys.executable, "-m", "dep_emulator.cli", "serve", "--port", str(port)]
    chunks: list[bytes] = []
    if terminal:
        primary, secondary = pty.openpty()
        process = subprocess.Popen(
            argv, env=environment, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary
        )
        os.close(secondary)
        source = primary
    else:
        process = subprocess.Popen(
            argv, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert process.stdout is not None
        source = process.stdout.fileno()

    def pump() -> None:
        while True:
            try:
                chunk = os.read(source, 65536)
            except OSError:  # EIO: the pseudo-terminal's other side is closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, b"".join(chunks).decode(errors="replace")
            assert time.monotonic() < deadline, b"".join(chunks).decode(errors="replace")
            time.sleep(0.1)
        yield url, chunks
    finally:
        process.terminate()
        process.wait(timeout=40)
        reader.join(timeout=10)
        if terminal:
            os.close(source)
        elif process.stdout is not None:
            process.stdout.close()


def lines(chunks: list[bytes]) -> list[str]:
    text = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return [line for line in text.splitlines() if line.strip()]


def test_a_terminal_gets_readable_lines_with_time_level_message_and_request_id(database_url: str) -> None:
    with served(database_url, terminal=True) as (url, chunks):
        response = httpx.post(
            f"{url}/emulator/v1/orgs",
            json={"name": "Logged on a terminal"},
            headers={"X-Request-ID": "tty-1"},
        )
        assert response.status_code == 201
    output = lines(chunks)
    assert output and all(TEXT_LINE.match(line) for line in output), output
    assert any("Uvicorn running on" in line for line in output), output
    access = [line for line in output if "[tty-1]" in line]
    assert len(access) == 1, output
    assert " INFO " in access[0] and "POST /emulator/v1/orgs 201" in access[0]
    assert "surface=control" in access[0] and "duration_ms=" in access[0]
    assert all("\x1b[" not in line for line in output)  # no colour codes


def test_a_pipe_gets_json_lines(database_url: str) -> None:
    with served(database_url, terminal=False) as (url, chunks):
        response = httpx.post(
            f"{url}/emulator/v1/orgs", json={"name": "Logged on a pipe"}, headers={"X-Request-ID": "pipe-1"}
        )
        assert response.status_code == 201
    entries = [json.loads(line) for line in lines(chunks)]  # every line one JSON object
    assert any(e["msg"].startswith("Uvicorn running on") for e in entries)
    access = [e for e in entries if e["request_id"] == "pipe-1"]
    assert [(a["level"], a["status"], a["surface"]) for a in access] == [("info", 201, "control")]


def test_log_format_json_wins_on_a_terminal(database_url: str) -> None:
    with served(database_url, terminal=True, DEPEMU_LOG_FORMAT="json") as (url, chunks):
        assert httpx.get(f"{url}/account", headers={"X-Request-ID": "tty-json-1"}).status_code == 401
    entries = [json.loads(line) for line in lines(chunks)]
    assert [e["status"] for e in entries if e["request_id"] == "tty-json-1"] == [401]


def test_log_format_text_wins_on_a_pipe(database_url: str) -> None:
    with served(database_url, terminal=False, DEPEMU_LOG_FORMAT="text") as (_, chunks):
        pass
    output = lines(chunks)
    assert output and all(TEXT_LINE.match(line) for line in output), output
