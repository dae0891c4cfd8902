"""deploy/helm/dep-emulator rendered by a real `helm` (built from the Go module proxy into .go-tools/).

No Kubernetes cluster is available to the test suite: the chart is linted, rendered with
`helm template` and its manifests validated offline against the Kubernetes schemas that
kubernetes-validate ships, for the oldest and the newest Kubernetes the chart supports, and its
custom resources against their operators' schemas (tests/helm/schemas/).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.device_setup.go_tools import GoMissing, tool, unavailable

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "dep-emulator"
ALL_OPTIONS = CHART / "ci" / "all-options-values.yaml"
# The chart's kubeVersion floor and the newest schemas kubernetes-validate ships.
OLDEST, NEWEST = "1.29.0", "1.37.0"
# The one value without a default (an external PostgreSQL's URL); everything else as shipped.
DEFAULTS = ["--set", "database.url=postgresql://depemu:secret@postgres.staging.svc:5432/depemu"]
VALUE_SETS = {"defaults": DEFAULTS, "all-options": ["-f", str(ALL_OPTIONS)]}


# The operators' own schemas for the custom resources the chart can render (kubernetes-validate
# ships only Kubernetes's): each CRD's openAPIV3Schema, from the operator's release named inside.
SCHEMAS = Path(__file__).parent / "schemas"


def _strict(schema: Any) -> Any:
    """Unknown fields refused, as `kubectl apply --validate=strict` does, except where the CRD keeps them."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {k: _strict(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            strict["additionalProperties"] = False
    return strict


def validate_custom(manifest: dict[str, Any]) -> None:
    """A custom resource against its operator's schema; jsonschema.ValidationError when it does not fit."""
    group_version = manifest["apiVersion"].replace("/", "_")
    schema = json.loads((SCHEMAS / f"{group_version}_{manifest['kind']}.json").read_text())
    jsonschema.validate(manifest, _strict(schema))


def helm() -> Path:
    try:
        return tool("helm")
    except GoMissing as exc:
        unavailable(str(exc))


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm()), *args], capture_output=True, text=True, timeout=120, check=False)


def render(*values: str, kube_version: str = NEWEST) -> list[dict[str, Any]]:
    """`helm template` of the chart: its manifests, parsed."""
    result = run_helm(
        "template", "staging", str(CHART), "--namespace", "dep", "--kube-version", kube_version, *values
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_error(*values: str) -> str:
    """The message of a render the chart refuses."""
    result = run_helm("template", "staging", str(CHART), "--kube-version", NEWEST, *values)
    assert result.returncode != 0, "the chart rendered"
    return result.stderr


def one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [m for m in manifests if m["kind"] == kind]
    return found


def container(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    (main,) = one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(main)


def env(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The container's environment: plain values, or the secretKeyRef for the others."""
    return {
        e["name"]: e.get("value", e.get("valueFrom", {}).get("secretKeyRef"))
        for e in container(manifests)["env"]
    }
