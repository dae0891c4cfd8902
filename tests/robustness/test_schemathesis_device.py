"""Schemathesis over the device endpoints, with a device whose MDM misbehaves at random (issue 28).

`activate`, `erase`, `enroll`, `mdm/poll`, `mdm/checkout`, `mdm/schedule`, `mdm/not-now` and the
reads, positive and negative inputs, most cases addressed to one device assigned a DEP profile
whose URL is `tests/device_setup/misbehaving_mdm.py`. Each request the MDM gets is answered by a
behaviour drawn from a seeded random generator: a good profile or a refusal, garbage, a redirect
loop, a hang, a dropped connection; check-ins accepted or refused; commands real, unknown,
malformed or endless. Whatever the device meets, the emulator must answer no 5xx, with a
documented status, content type and schema (the same checks as `test_schemathesis.py`).
"""

from __future__ import annotations

import plistlib
import random
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from dep_emulator.core.config import Settings
from dep_emulator.main import create_app
from fastapi import FastAPI
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi

from tests.device_setup.misbehaving_mdm import (
    ASPEN,
    DROP,
    HANG,
    MisbehavingMdm,
    Reply,
    Request,
    command,
    misbehaving_mdm,
    plist_reply,
)
from tests.robustness.test_schemathesis import (
    ADMIN,
    ADMIN_TOKEN,
    CHECKS,
    FUZZ_SETTINGS,
    USER_AGENT,
    Seed,
    seed,
)

DEVICE_PATHS = r"^/emulator/v1/devices/\{serial\}/(activate|erase|enroll|mdm)"


class AtRandom:
    """The misbehaving MDM's routes, each answer drawn from one seeded generator."""

    def __init__(self, bad: MisbehavingMdm) -> None:
        self.bad = bad
        self.random = random.Random(28)
        self.lock = threading.Lock()
        self.drawn: dict[str, int] = {}

    def pick(self, path: str, choices: list[tuple[int, str, Any]]) -> Any:
        with self.lock:
            weight, name, answer = self.random.choices(choices, weights=[c[0] for c in choices])[0]
        self.drawn[f"{path} {name}"] = self.drawn.get(f"{path} {name}", 0) + 1
        return answer

    def enroll(self, request: Request) -> Any:
        return self.pick(
            "/enroll",
            [
                (8, "profile", Reply(200, self.bad.profile(), {"Content-Type": ASPEN})),
                (1, "403", Reply(403, b'{"code": "com.apple.softwareupdate.required", "details": {}}')),
                (1, "500", Reply(500, b"oops")),
                (1, "503", Reply(503, b"", {"Retry-After": "5"})),
                (1, "html", Reply(200, b"<html>sign in</html>", {"Content-Type": "text/html"})),
                (1, "garbage", Reply(200, bytes(range(256)))),
                (1, "empty", Reply(200, b"")),
                (1, "loop", Reply(302, b"", {"Location": "/enroll"})),
                (1, "mid-body", Reply(200, b"<?xml", declared_length=900)),
                (1, "drop", DROP),
                (1, "hang", HANG),
            ],
        )

    def checkin(self, request: Request) -> Any:
        return self.pick(
            "/checkin",
            [
                (10, "ok", Reply(200, b"")),
                (1, "401", Reply(401, b"")),
                (1, "410", Reply(410, b"")),
                (1, "drop", DROP),
                (1, "hang", HANG),
            ],
        )

    def mdm(self, request: Request) -> Any:
        junk_profile = command("InstallProfile", "junk", Payload=b"\x00not a profile")
        return self.pick(
            "/mdm",
            [
                (6, "none", Reply(200, b"")),
                (2, "info", plist_reply(command("DeviceInformation", "info", Queries=["UDID", 5]))),
                (1, "profiles", plist_reply(command("ProfileList", "list"))),
                (1, "unknown", plist_reply(command("Teleport", "x" * 300))),
                (1, "no type", plist_reply(command(None, "no-type"))),
                (1, "junk profile", plist_reply(junk_profile)),
                (1, "lock", plist_reply(command("DeviceLock", "lock", Message=3))),
                (1, "restart", plist_reply(command("RestartDevice", "restart"))),
                (1, "erase", plist_reply(command("EraseDevice", "erase"))),
                (
                    1,
                    "unenroll",
                    plist_reply(command("RemoveProfile", "rm", Identifier="com.example.misbehaving.enroll")),
                ),
                (1, "not a plist", Reply(200, b"\x00{")),
                (1, "no uuid", Reply(200, plistlib.dumps({"Command": {"RequestType": "ProfileList"}}))),
                (1, "401", Reply(401, b"")),
                (1, "500", Reply(500, b"")),
                (1, "drop", DROP),
                (1, "hang", HANG),
            ],
        )


@pytest.fixture
def device_fuzz(database_url: str, pg: Any) -> Iterator[tuple[FastAPI, Seed, AtRandom]]:
    app = create_app(
        Settings(
            database_url=database_url,
            log_level="ERROR",
            log_format="text",
            admin_token=ADMIN_TOKEN,
            abm_activity_delay_seconds=0,
            mdm_contact_timeout_seconds=0.5,
            mdm_max_redirects=2,
            mdm_max_commands_per_poll=4,
            mdm_poll_loop_seconds=0,
        ),
        run_migrations=False,
    )
    with misbehaving_mdm() as bad:
        at_random = AtRandom(bad)
        bad.routes.update({"/enroll": at_random.enroll, "/checkin": at_random.checkin, "/mdm": at_random.mdm})
        try:
            with asgi.get_client(app) as http:
                http.headers.update(ADMIN)
                seeded = seed(http)
                dep = {"X-ADM-Auth-Session": seeded.session_token, "User-Agent": USER_AGENT}
                defined = http.post(
                    "/profile", json={"profile_name": "Fuzz", "url": bad.base_url + "/enroll"}, headers=dep
                )
                assert defined.status_code == 200, defined.text
                body = {"profile_uuid": defined.json()["profile_uuid"], "devices": seeded.serials[:1]}
                assert http.put("/profile/devices", json=body, headers=dep).status_code == 200
            yield app, seeded, at_random
        finally:
            asgi.shutdown_lifespans()


def steer(case: Any, seeded: Seed, http: asgi.ASGIClient) -> None:
    """Three cases in four (a stable hash) address the device with the misbehaving MDM; half of
    those first bring it to the state the operation needs (activated, or enrolled: through the
    same misbehaving MDM, so the preparation is fuzzed too, and must not 5xx either)."""
    if not case.path_parameters or "serial" not in case.path_parameters:
        return
    draw = zlib.crc32(repr((case.path_parameters, case.body)).encode())
    if not draw % 4:
        return
    serial = case.path_parameters["serial"] = seeded.serials[0]
    path = case.operation.path
    if isinstance(case.body, dict) and path.endswith("/activate") and draw % 2:
        case.body["enroll"] = True
    if draw % 8 < 4:
        return
    for _ in range(3 if "/mdm" in path else 1):  # the MDM may refuse: up to three tries to enroll
        prepared = [http.post(f"/emulator/v1/devices/{serial}/erase")]
        if path.endswith("/enroll"):
            prepared.append(http.post(f"/emulator/v1/devices/{serial}/activate"))
        elif "/mdm" in path:
            prepared.append(http.post(f"/emulator/v1/devices/{serial}/activate", json={"enroll": True}))
        for response in prepared:
            assert response.status_code < 500, (response.request.url, response.text)
        if prepared[-1].json().get("enrollment", {}).get("outcome") == "enrolled":
            break


def test_fuzz_devices_with_a_misbehaving_mdm(device_fuzz: tuple[FastAPI, Seed, AtRandom]) -> None:
    """Every device operation, positive and negative inputs; no 5xx and documented answers."""
    app, seeded, at_random = device_fuzz
    http = asgi.get_client(app)
    http.headers.update(ADMIN)
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=DEVICE_PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {o.label for o in operations}
    for wanted in ("activate", "erase", "enroll", "mdm/poll", "mdm/checkout", "mdm/schedule", "mdm/not-now"):
        assert any(label.endswith("/" + wanted) for label in labels), (wanted, labels)
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                steer(case, seeded, http)
                case.call_and_validate(headers=ADMIN, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                continue
            except (Exception, BaseExceptionGroup) as exc:  # reported together below
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    print(  # noqa: T201
        f"fuzzed {len(operations)} device operations in {time.monotonic() - started:.0f}s; "
        f"the MDM answered: {sorted(at_random.drawn.items())}"
    )
    assert not failures, "\n\n".join(failures)
    # The MDM was reached and misbehaved in several ways at each step.
    for step in ("/enroll", "/checkin", "/mdm"):
        assert sum(1 for key in at_random.drawn if key.startswith(step + " ")) >= 3, at_random.drawn
