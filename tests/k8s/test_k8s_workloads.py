"""Each service's workloads as rendered: `serve` and `consume` in separately scalable Deployments with the
settings that split them, probes on /healthz and /readyz, non-root read-only containers, egress only where the
service must go; and the settings the manifests give are ones each service's own Settings accepts, in
development and, with the Secrets the README lists, in production."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from frontdoor_k8s import database, kustomize, settings
from frontdoor_k8s.generate import K8S

from allocation.settings import Settings as AllocationSettings
from contacts.settings import Settings as ContactsSettings
from frontdoor_stack.services import SERVICES, ServiceSpec
from notifications.settings import Settings as NotificationsSettings
from outcomes.settings import Settings as OutcomesSettings

SETTINGS = {"contacts": ContactsSettings, "allocation": AllocationSettings, "notifications": NotificationsSettings,
            "outcomes": OutcomesSettings}
EGRESS_PORTS = {5432, 9093, 53}


def rendered(overlay: str) -> list[dict[str, Any]]:
    return kustomize.render(K8S / "overlays" / overlay)


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name)


def containers(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "<secret>") for e in container.get("env", [])}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_serve_and_consume_run_in_their_own_deployments_split_by_their_settings(spec: ServiceSpec) -> None:
    documents = rendered("production")
    api = find(documents, "Deployment", f"{spec.name}-api")
    worker = find(documents, "Deployment", f"{spec.name}-worker")
    assert api["spec"]["replicas"] == worker["spec"]["replicas"] == 2  # the production overlay scales each
    assert api["spec"]["selector"] != worker["spec"]["selector"]
    (served,) = containers(api).values()
    assert served["command"] == [spec.command] and served["args"] == ["serve"]
    assert env_of(served)[f"{spec.prefix}_RUN_CONSUMER"] == "false"
    pair = containers(worker)
    assert pair["worker"]["args"] == ["consume"] and pair["ops"]["args"] == ["serve"]
    assert env_of(pair["ops"])[f"{spec.prefix}_ROLE"] == "api"
    shared = {env_of(c)["PROMETHEUS_MULTIPROC_DIR"] for c in pair.values()}
    assert len(shared) == 1 and worker["spec"]["template"]["spec"]["shareProcessNamespace"] is True
    config = find(documents, "ConfigMap", f"{spec.name}-settings")["data"]
    assert config[f"{spec.prefix}_CONSUMER_PROCESS"] == "false"  # `serve` never starts a worker child
    for container in (served, pair["ops"]):
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["ports"] == [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}]
    assert "read_status" in " ".join(pair["worker"]["livenessProbe"]["exec"]["command"])
    for container in (served, *pair.values()):
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_containers_run_as_non_root_on_a_read_only_root_with_no_capabilities(spec: ServiceSpec) -> None:
    documents = rendered("production")
    for role in ("api", "worker"):
        pod = find(documents, "Deployment", f"{spec.name}-{role}")["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
            writable = [v for path, v in mounts.items() if not path.startswith("/etc/")]
            assert all("emptyDir" in volumes[name] for name in writable)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_deployment_has_a_disruption_budget_and_the_metrics_are_scraped(spec: ServiceSpec) -> None:
    documents = rendered("production")
    for role in ("api", "worker"):
        labels = find(documents, "Deployment", f"{spec.name}-{role}")["spec"]["template"]["metadata"]["labels"]
        budget = find(documents, "PodDisruptionBudget", f"{spec.name}-{role}")["spec"]["selector"]["matchLabels"]
        assert budget.items() <= labels.items()
        metrics = find(documents, "Service", f"{spec.name}-metrics")["spec"]["selector"]
        assert metrics.items() <= labels.items()
    monitor = find(documents, "ServiceMonitor", spec.name)["spec"]
    scraped = find(documents, "Service", f"{spec.name}-metrics")["metadata"]["labels"]
    assert monitor["selector"]["matchLabels"].items() <= scraped.items()
    assert monitor["endpoints"][0]["path"] == "/metrics" and monitor["endpoints"][0]["port"] == "http"


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_egress_goes_only_to_dns_kafka_and_postgresql_and_for_notifications_https_and_smtp(spec: ServiceSpec) -> None:
    documents = rendered("production")
    for role in ("api", "worker"):
        policy = find(documents, "NetworkPolicy", f"{spec.name}-{role}")["spec"]
        assert policy["policyTypes"] == ["Ingress", "Egress"]
        ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
        assert all(rule["ports"] for rule in policy["egress"])  # no rule opens every port
        if spec.name == "notifications":
            assert ports == EGRESS_PORTS | {443, 25, 465, 587}
            https = next(rule for rule in policy["egress"] if rule["ports"] == [{"port": 443, "protocol": "TCP"}])
            assert "10.0.0.0/8" in https["to"][0]["ipBlock"]["except"]  # webhooks go to public addresses only
        else:
            assert ports == EGRESS_PORTS
            assert not any("ipBlock" in peer for rule in policy["egress"] for peer in rule["to"])
        assert {p["port"] for rule in policy["ingress"] for p in rule["ports"]} == {spec.port}


def environment(documents: list[dict[str, Any]], spec: ServiceSpec, container: dict[str, Any]) -> dict[str, str]:
    """What the container's process sees: its ConfigMaps, its Secret (where the overlay has it) and its env."""
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            env |= find(documents, "ConfigMap", source["configMapRef"]["name"])["data"]
        elif any(d["kind"] == "Secret" and d["metadata"]["name"] == source["secretRef"]["name"] for d in documents):
            env |= find(documents, "Secret", source["secretRef"]["name"])["stringData"]
    return env | {key: value for key, value in env_of(container).items() if value != "<secret>"}


@pytest.fixture
def clean_environment(tmp_path: Path) -> Iterator[Path]:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("FRONTDOOR_", *(f"{s.prefix}_" for s in SERVICES))):
            del os.environ[name]
    ca = tmp_path / "ca.crt"
    ca.write_text("a CA bundle\n")
    try:
        yield ca
    finally:
        os.environ.clear()
        os.environ.update(saved)


def load_settings(spec: ServiceSpec, env: dict[str, str], ca: Path) -> Any:
    os.environ.update(env | {f"{spec.prefix}_KAFKA_PASSWORD": "from-the-kafka-user-secret",
                             f"{spec.prefix}_KAFKA_CA_FILE": str(ca)})
    try:
        loaded = SETTINGS[spec.name]()
        loaded.own_wrapping_key(spec.name)
        return loaded
    finally:
        for name in env:
            os.environ.pop(name, None)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_the_development_overlays_settings_are_accepted_by_the_service(spec: ServiceSpec,
                                                                       clean_environment: Path) -> None:
    documents = rendered("development")
    for role, name in (("api", "api"), ("worker", "worker"), ("worker", "ops")):
        container = containers(find(documents, "Deployment", f"{spec.name}-{role}"))[name]
        env = environment(documents, spec, container)
        named = {name.removeprefix(f"{spec.prefix}_").lower() for name in env if name.startswith(f"{spec.prefix}_")}
        assert named <= set(SETTINGS[spec.name].model_fields)  # no setting the service would ignore
        loaded = load_settings(spec, env, clean_environment)
        assert loaded.environment == "development" and loaded.kafka_security == "sasl_ssl"
        assert loaded.kafka_username == spec.name and loaded.consumer_process is False
        assert loaded.database_url.startswith(f"postgresql://{spec.name}:")
    role_secret = find(documents, "Secret", database.role_secret(spec.name))["stringData"]
    url = find(documents, "Secret", f"{spec.name}-secrets")["stringData"][f"{spec.prefix}_DATABASE_URL"]
    assert url == database.database_url(role_secret["username"], role_secret["password"])


def production_secrets(spec: ServiceSpec) -> dict[str, str]:
    """Valid values for every name `settings.secret_names` lists (what the README tells operators to set)."""
    def key() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    values = {"DATABASE_URL": database.database_url(spec.name, "secret"), "WRAPPING_KEY": key(),
              "WRAPPING_KEY_ID": "2026-1", "SECRETS_KEY_ID": "2026-1",
              "WRAPPING_KEYS": json.dumps({s.name: {"id": "2026-1", "key": key()} for s in SERVICES}),
              "SECRETS_KEYS": json.dumps({"2026-1": key()})}
    return {name: values[name.removeprefix(f"{spec.prefix}_")] for name in settings.secret_names(spec)}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_production_settings_with_the_listed_secrets_are_accepted_and_without_a_key_refused(
        spec: ServiceSpec, clean_environment: Path) -> None:
    documents = rendered("production")
    assert not [d for d in documents if d["kind"] == "Secret"]  # the operators make them
    container = containers(find(documents, "Deployment", f"{spec.name}-api"))["api"]
    env = environment(documents, spec, container) | production_secrets(spec)
    loaded = load_settings(spec, env, clean_environment)
    assert loaded.environment == "production"
    without_key = {k: v for k, v in env.items() if k != f"{spec.prefix}_WRAPPING_KEY"}
    with pytest.raises(ValueError, match=r"(?i)wrapping_key"):
        load_settings(spec, without_key, clean_environment)
