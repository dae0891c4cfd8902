"""The Helm chart (issue 33 §2-3): lint, render with the defaults and with every option on, validate
every manifest against the Kubernetes schemas of the oldest and newest supported versions, and
check what the chart promises (probes, non-root, pools within the database's connections, ...)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from dep_emulator.core.config import Settings

from tests.helm.chart import (
    ALL_OPTIONS,
    CHART,
    DEFAULTS,
    NEWEST,
    OLDEST,
    VALUE_SETS,
    container,
    env,
    one,
    render,
    render_error,
    run_helm,
    validate_custom,
)

# Custom resources of operators the chart can use, validated against the operators' schemas.
CUSTOM = {("postgresql.cnpg.io/v1", "Cluster"), ("monitoring.coreos.com/v1", "ServiceMonitor")}
# `serve` drains for this long after SIGTERM (uvicorn's timeout_graceful_shutdown in dep_emulator.cli).
DRAIN_SECONDS = 30


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_helm_lint(values: list[str]) -> None:
    result = run_helm("lint", "--strict", str(CHART), *values)
    assert result.returncode == 0, result.stdout + result.stderr


def validate(manifest: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(manifest, version, strict=True)


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_manifest_validates_against_the_kubernetes_schemas(values: list[str], version: str) -> None:
    manifests = render(*values, kube_version=version)
    for manifest in manifests:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM:
            validate_custom(manifest)  # CloudNativePG's and the Prometheus Operator's schemas
        else:
            validate(manifest, version)  # strict: an unknown field is an error too
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "Secret", "PodDisruptionBudget", "ServiceAccount"} <= kinds
    if values is VALUE_SETS["all-options"]:
        assert {"Ingress", "HorizontalPodAutoscaler", "NetworkPolicy", "Cluster", "ServiceMonitor"} <= kinds


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "replicas"), "two"),  # a wrong type
        (("spec", "template", "spec", "containers", 0, "livenessProbes"), {}),  # a misspelt field
        (("spec", "strategy", "rollingUpdate", "maxSurges"), 1),
    ],
)
def test_the_validation_fails_on_a_manifest_that_breaks_the_schema(path: tuple[Any, ...], value: Any) -> None:
    """What CI would say of a template change that breaks a schema: the check can fail."""
    deployment = copy.deepcopy(one(render(*DEFAULTS), "Deployment"))
    validate(deployment, OLDEST)
    target: Any = deployment
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment, OLDEST)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("Cluster", ("spec", "instances"), "three"),
        ("Cluster", ("spec", "storage", "sizes"), "10Gi"),  # misspelt
        ("ServiceMonitor", ("spec", "endpoints", 0, "paths"), "/metrics"),
    ],
)
def test_the_validation_fails_on_a_custom_resource_that_breaks_its_schema(
    kind: str, path: tuple[Any, ...], value: Any
) -> None:
    manifest = copy.deepcopy(one(render("-f", str(ALL_OPTIONS)), kind))
    validate_custom(manifest)
    target: Any = manifest
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(manifest)


def test_the_deployment_probes_drains_and_runs_unprivileged() -> None:
    manifests = render(*DEFAULTS)
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    main = container(manifests)
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"  # migrations run before serving
    assert main["command"][:2] == ["dep-emulator", "serve"]
    assert main["resources"]["requests"] and main["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert [m["mountPath"] for m in main["volumeMounts"]] == ["/tmp"]  # the only writable path
    assert pod["automountServiceAccountToken"] is False
    cli = (CHART.parents[2] / "app" / "cli" / "__init__.py").read_text()
    assert f"timeout_graceful_shutdown={DRAIN_SECONDS}," in cli  # the drain the chart counts on
    pre_stop = int(main["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + DRAIN_SECONDS
    variables = env(manifests)
    assert variables["DEPEMU_LOG_FORMAT"] == "json"
    secret = one(manifests, "Secret")["metadata"]["name"]
    assert variables["DEPEMU_DATABASE_URL"] == {"name": secret, "key": "database-url"}
    assert variables["DEPEMU_ADMIN_TOKEN"] == {"name": secret, "key": "admin-token"}
    assert "DEPEMU_PUBLIC_BASE_URL" not in variables  # no Ingress, no publicBaseUrl
    assert set(variables) <= {f"DEPEMU_{name.upper()}" for name in Settings.model_fields}
    assert one(manifests, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_the_pod_matches_the_image_the_dockerfile_builds() -> None:
    """The chart runs the image `docker build .` makes: its user, its command, its port."""
    dockerfile = (CHART.parents[2] / "Dockerfile").read_text()
    manifests = render(*DEFAULTS)
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert f"--uid {pod['securityContext']['runAsUser']} depemu" in dockerfile
    assert 'CMD ["dep-emulator", "serve"]' in dockerfile
    (port,) = container(manifests)["ports"]
    assert f"DEPEMU_PORT={port['containerPort']}" in dockerfile


def test_a_grace_period_shorter_than_the_drain_is_refused() -> None:
    message = render_error(*DEFAULTS, "--set", "terminationGracePeriodSeconds=30")
    assert "terminationGracePeriodSeconds (30) must exceed" in message


def test_the_database_url_is_required_without_cloudnativepg_or_an_existing_secret() -> None:
    assert "database.url is required" in render_error()


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("replicaCount=two", "at '/replicaCount': got string, want integer"),
        ("rollingUpdate.maxSurge=25%", "at '/rollingUpdate/maxSurge': got string, want integer"),
        ("database.url=mysql://u:p@db/dep", "at '/database/url'"),
        ("env.LOG_LEVEL=DEBUG", "'LOG_LEVEL' does not match pattern"),  # settings are DEPEMU_*
    ],
)
def test_values_of_the_wrong_kind_are_refused_before_rendering(value: str, complaint: str) -> None:
    """values.schema.json: helm checks the values the templates compute with."""
    assert complaint in render_error(*DEFAULTS, "--set", value)


@pytest.mark.parametrize(
    ("values", "processes", "available"),
    [
        (DEFAULTS, 2 + 1, 100 - 10),  # replicaCount + surge; max_connections - reserved
        ([*DEFAULTS, "--set", "replicaCount=5"], 5 + 1, 100 - 10),
        (["-f", str(ALL_OPTIONS)], 8 + 1, 200 - 20),  # the autoscaler's maximum + surge
        ([*DEFAULTS, "--set", "database.maxConnections=500,autoscaling.enabled=true"], 6 + 1, 500 - 10),
        ([*DEFAULTS, "--set", "workers=2"], (2 + 1) * 2, 100 - 10),  # every worker has its pools
        ([*DEFAULTS, "--set", "rollingUpdate.maxSurge=3"], 2 + 3, 100 - 10),
    ],
)
def test_pools_are_derived_to_fit_the_database(values: list[str], processes: int, available: int) -> None:
    """Every worker process of every pod that can exist at once, each up to 5x DEPEMU_DB_POOL_SIZE
    connections (the ORM pool 3x, the fast-path pool 2x), stays within max_connections less the
    reserved ones; the pools as large as fits."""
    pool = int(env(render(*values))["DEPEMU_DB_POOL_SIZE"])
    assert processes * 5 * pool <= available < processes * 5 * (pool + 1)


def test_an_explicit_pool_too_large_for_the_database_is_refused() -> None:
    assert int(env(render(*DEFAULTS, "--set", "database.poolSize=6"))["DEPEMU_DB_POOL_SIZE"]) == 6
    message = render_error(*DEFAULTS, "--set", "database.poolSize=7")
    assert (
        "3 worker processes x 5 x 7 = 105 connections, more than maxConnections - reservedConnections = 90"
        in message
    )
    assert "PgBouncer" in render_error(*DEFAULTS, "--set", "replicaCount=30")


def test_cloudnativepg_wires_its_connection_secret_and_max_connections() -> None:
    manifests = render("-f", str(ALL_OPTIONS))
    cluster = one(manifests, "Cluster")
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["postgresql"]["parameters"]["max_connections"] == "200"
    assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "app", "owner": "app"}
    name = cluster["metadata"]["name"]
    assert env(manifests)["DEPEMU_DATABASE_URL"] == {"name": f"{name}-app", "key": "uri"}
    assert "database-url" not in one(manifests, "Secret")["data"]  # the operator's Secret has it


def test_the_public_base_url_comes_from_the_ingress_host() -> None:
    manifests = render("-f", str(ALL_OPTIONS))
    assert env(manifests)["DEPEMU_PUBLIC_BASE_URL"] == "https://dep.staging.example.test"  # TLS for it
    (rule,) = one(manifests, "Ingress")["spec"]["rules"]
    assert rule["host"] == "dep.staging.example.test"
    plain = render(*DEFAULTS, "--set", "ingress.enabled=true,ingress.hosts[0].host=dep.lab.test")
    assert env(plain)["DEPEMU_PUBLIC_BASE_URL"] == "http://dep.lab.test"
    chosen = render(*DEFAULTS, "--set", "ingress.enabled=true,publicBaseUrl=https://dep.example.test:8443")
    assert env(chosen)["DEPEMU_PUBLIC_BASE_URL"] == "https://dep.example.test:8443"


def test_an_existing_secret_is_used_by_name() -> None:
    manifests = render("--set", "secret.existingSecret=staging-credentials")
    assert "Secret" not in {m["kind"] for m in manifests}
    variables = env(manifests)
    assert variables["DEPEMU_DATABASE_URL"] == {"name": "staging-credentials", "key": "database-url"}
    assert variables["DEPEMU_ADMIN_TOKEN"] == {"name": "staging-credentials", "key": "admin-token"}


def test_optional_pieces_select_the_replicas() -> None:
    manifests = render("-f", str(ALL_OPTIONS))
    selector = one(manifests, "Deployment")["spec"]["selector"]["matchLabels"]
    service = one(manifests, "Service")
    assert service["spec"]["selector"] == selector
    assert one(manifests, "ServiceMonitor")["spec"]["endpoints"][0]["path"] == "/metrics"
    assert (
        one(manifests, "ServiceMonitor")["spec"]["selector"]["matchLabels"].items()
        <= service["metadata"]["labels"].items()
    )
    assert one(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    assert one(manifests, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"] == selector
    hpa = one(manifests, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == one(manifests, "Deployment")["metadata"]["name"]
    assert "replicas" not in one(manifests, "Deployment")["spec"]  # the autoscaler owns it
