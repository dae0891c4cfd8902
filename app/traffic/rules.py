"""Traffic rules: presets, per-org overrides, and what a given request is subject to.

Pure functions, no I/O: the middleware asks `plan()` which budgets a request draws on and
hands the answer to one SQL statement (dep_emulator.traffic.service.admit).

Presets (spec §12):
- `off`: nothing is enforced (the default).
- `apple`: only what Apple documents: at most 1000 devices per request (§12.1). Page sizes
  above 1000 are clamped by the feed endpoints (§8.5), not refused.
- `strict`: also the rules MDM vendors are held to: a full fetch (fetch without a cursor) at
  most once per 7 days per server (the rule Intune documents; later attempts are refused),
  a sync cycle at most every 15 minutes (the next page of a cycle, i.e. a sync with the
  cursor the previous page returned with `more_to_follow`, is not a new cycle), page size
  ≤ 1000, request budgets per endpoint class and per client address on `/session`, and at
  most 4 concurrent requests per server.

The Business Manager API (`/v1`) has two budgets per API account, `abm_get` (GET) and
`abm_post` (every other method), off unless the org sets them or picks `strict`, which uses the
limits measured against Apple (abm-api.md §1.8: 20 GET a minute, 10 POST an hour).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Preset = Literal["off", "apple", "strict"]
EndpointClass = Literal[
    "session",
    "account",
    "fetch",
    "sync",
    "details",
    "disown",
    "assign",
    "profile",
    "other",
    "abm_get",
    "abm_post",
]

# Which class an Apple path belongs to; every method of a path shares the class.
PATH_CLASSES: dict[str, EndpointClass] = {
    "/session": "session",
    "/account": "account",
    "/server/devices": "fetch",
    "/devices/sync": "sync",
    "/devices": "details",
    "/devices/disown": "disown",
    "/profile/devices": "assign",
    "/profile": "profile",
}

# Retry-After for refusals that waiting does not cure (size limits): long enough that a
# client honouring it does not spin.
SIZE_REFUSAL_RETRY_AFTER = 60


class Budget(BaseModel):
    """`requests` per `per_seconds`, refilled continuously (a token bucket of that capacity)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int = Field(ge=1, le=1_000_000)
    per_seconds: float = Field(gt=0, le=365 * 86400)


class TrafficRules(BaseModel):
    """The effective rules of one org: a preset's values with the org's overrides applied.

    `None` disables a rule.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    budgets: dict[EndpointClass, Budget] = Field(default_factory=dict)
    session_per_address: Budget | None = None
    max_concurrent: int | None = Field(default=None, ge=1)
    max_page_size: int | None = Field(default=None, ge=1)
    max_devices_per_request: int | None = Field(default=None, ge=1)
    full_fetch_interval_seconds: float | None = Field(default=None, gt=0)
    sync_interval_seconds: float | None = Field(default=None, gt=0)


STRICT_SYNC_INTERVAL_SECONDS = 15 * 60
FULL_FETCH_INTERVAL_SECONDS = 7 * 86400

PRESETS: dict[Preset, TrafficRules] = {
    "off": TrafficRules(),
    "apple": TrafficRules(max_devices_per_request=1000),
    "strict": TrafficRules(
        budgets={
            "session": Budget(requests=10, per_seconds=60),
            "account": Budget(requests=10, per_seconds=60),
            "fetch": Budget(requests=120, per_seconds=60),
            "sync": Budget(requests=120, per_seconds=60),
            "details": Budget(requests=60, per_seconds=60),
            "disown": Budget(requests=10, per_seconds=60),
            "assign": Budget(requests=60, per_seconds=60),
            "profile": Budget(requests=60, per_seconds=60),
            "other": Budget(requests=60, per_seconds=60),
            "abm_get": Budget(requests=20, per_seconds=60),
            "abm_post": Budget(requests=10, per_seconds=3600),
        },
        session_per_address=Budget(requests=30, per_seconds=60),
        max_concurrent=4,
        max_page_size=1000,
        max_devices_per_request=1000,
        full_fetch_interval_seconds=FULL_FETCH_INTERVAL_SECONDS,
        sync_interval_seconds=STRICT_SYNC_INTERVAL_SECONDS,
    ),
}


def effective(stored: dict[str, Any] | None, *, default_preset: Preset) -> tuple[Preset, TrafficRules]:
    """The org's preset (or the setting's) with the stored overrides laid over it.

    `stored` is what PUT /emulator/v1/orgs/{id}/traffic-rules saved: `{"preset"?, "overrides"?}`.
    Budget overrides merge per class (a class set to null loses its budget).
    """
    stored = stored or {}
    preset: Preset = stored.get("preset") or default_preset
    base = PRESETS[preset].model_dump()
    overrides = dict(stored.get("overrides") or {})
    budgets = dict(base["budgets"])
    for cls, budget in (overrides.pop("budgets", None) or {}).items():
        if budget is None:
            budgets.pop(cls, None)
        else:
            budgets[cls] = budget
    base.update(overrides)
    base["budgets"] = budgets
    return preset, TrafficRules.model_validate(base)


@dataclass(frozen=True, slots=True)
class BodySummary:
    """What the rules and the journal need from a JSON request body."""

    cursor: str | None = None
    limit: int | None = None
    device_count: int | None = None


@dataclass(frozen=True, slots=True)
class BucketCheck:
    key: str
    rule: str
    capacity: float
    per_seconds: float
    match: str | None = None  # the cursor that marks "next page of the admitted cycle"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a request is subject to: an immediate refusal, or budgets to take from."""

    refuse_rule: str | None = None
    buckets: list[BucketCheck] = field(default_factory=list)
    slot_key: str | None = None
    slot_max: int | None = None
    # Bucket whose `note` the response's cursor updates (sync cycles).
    note_key: str | None = None

    @property
    def needs_database(self) -> bool:
        return bool(self.buckets) or self.slot_key is not None


def endpoint_class(path: str) -> EndpointClass:
    return PATH_CLASSES.get(path, "other")


def plan(
    rules: TrafficRules,
    *,
    method: str,
    path: str,
    server_id: int | None,
    client_addr: str | None,
    body: BodySummary,
    account_id: int | None = None,
) -> Plan:
    """Decide which rules apply to this request (no I/O); `account_id`: a Business Manager API call."""
    if account_id is not None:
        return abm_plan(rules, method=method, account_id=account_id)
    cls = endpoint_class(path)
    if (
        rules.max_page_size is not None
        and cls in ("fetch", "sync")
        and body.limit is not None
        and body.limit > rules.max_page_size
    ):
        return Plan(refuse_rule="max_page_size")
    if (
        rules.max_devices_per_request is not None
        and body.device_count is not None
        and body.device_count > rules.max_devices_per_request
    ):
        return Plan(refuse_rule="max_devices_per_request")

    buckets: list[BucketCheck] = []
    if cls == "session" and client_addr and rules.session_per_address is not None:
        b = rules.session_per_address
        buckets.append(
            BucketCheck(f"a{client_addr}:session", "session_per_address", b.requests, b.per_seconds)
        )
    if server_id is None:
        return Plan(buckets=buckets)

    budget = rules.budgets.get(cls)
    if budget is not None:
        buckets.append(
            BucketCheck(f"s{server_id}:{cls}", f"budget:{cls}", budget.requests, budget.per_seconds)
        )
    note_key = None
    if cls == "fetch" and method == "POST" and not body.cursor and rules.full_fetch_interval_seconds:
        buckets.append(
            BucketCheck(
                f"s{server_id}:full_fetch", "full_fetch_interval", 1, rules.full_fetch_interval_seconds
            )
        )
    if cls == "sync" and method == "POST" and rules.sync_interval_seconds:
        note_key = f"s{server_id}:sync_cycle"
        buckets.append(
            BucketCheck(note_key, "sync_interval", 1, rules.sync_interval_seconds, match=body.cursor or "")
        )
    slot_key = f"s{server_id}:in_flight" if rules.max_concurrent is not None else None
    return Plan(buckets=buckets, slot_key=slot_key, slot_max=rules.max_concurrent, note_key=note_key)


def abm_plan(rules: TrafficRules, *, method: str, account_id: int) -> Plan:
    """A `/v1` request of one API account: its GET or write budget, nothing else."""
    cls: EndpointClass = "abm_get" if method in ("GET", "HEAD") else "abm_post"
    budget = rules.budgets.get(cls)
    if budget is None:
        return Plan()
    key = f"k{account_id}:{cls}"
    return Plan(buckets=[BucketCheck(key, f"budget:{cls}", budget.requests, budget.per_seconds)])


def rule_for_key(checks: list[BucketCheck], key: str) -> str:
    if key.endswith(":in_flight"):
        return "max_concurrent"
    return next((c.rule for c in checks if c.key == key), key)
