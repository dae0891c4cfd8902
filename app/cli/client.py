"""Talking to a running emulator's control API from the command line."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, NoReturn

import httpx

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class CliError(Exception):
    """A failure worth one line on stderr and a non-zero exit."""


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `12h`, `8d`, `1w` → seconds."""
    match = DURATION.match(text)
    if match is None:
        raise CliError(f"not a duration: {text!r} (use e.g. 90s, 15m, 12h, 8d, 1w)")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)]


class Control:
    def __init__(self, url: str, admin_token: str | None) -> None:
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self.http = httpx.Client(base_url=url.rstrip("/") + "/emulator/v1", headers=headers, timeout=120)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the emulator at {self.http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                message = f"{error['code']}: {error['message']}"
            except (ValueError, KeyError, TypeError):
                message = response.text.strip() or response.reason_phrase
            raise CliError(f"{method} {path} failed ({response.status_code}) {message}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()


def emit(data: Any, *, as_json: bool, human: str) -> None:
    """Print `data` as JSON for scripts, or the human line(s)."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(human.rstrip("\n") + "\n")


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"dep-emulator: {message}\n")
    raise SystemExit(1)


def progress(done: int, total: int, *, label: str) -> None:
    """A one-line progress bar on stderr (only when it is a terminal)."""
    if not sys.stderr.isatty() or total <= 0:
        return
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
