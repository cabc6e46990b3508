"""Each service's settings (a ConfigMap; its secrets are the Secret `<service>-secrets`, made by whoever runs
the cluster, see deploy/k8s/README.md), its ServiceAccount (no API token) and its PodDisruptionBudgets."""

from __future__ import annotations

from typing import Any

from frontdoor_stack.services import ServiceSpec

from .layout import KAFKA_BOOTSTRAP, KAFKA_CA_DIR, metadata
from .workloads import OUTCOMES_STREAM_DIR, pod_labels

PLATFORM_SETTINGS = {"FRONTDOOR_ENV": "production"}  # the development overlay says development
# What each service's Secret `<service>-secrets` holds in production (deploy/k8s/README.md, "Secrets"); the
# Kafka password is the User Operator's Secret of the service's KafkaUser, not in here.
SECRETS = ("DATABASE_URL", "WRAPPING_KEY", "WRAPPING_KEY_ID")
OWN_SECRETS = {"contacts": ("WRAPPING_KEYS",), "notifications": ("SECRETS_KEYS", "SECRETS_KEY_ID")}
OPTIONAL_SECRETS = {"notifications": ("SMTP_USERNAME", "SMTP_PASSWORD")}


def secret_names(spec: ServiceSpec, optional: bool = False) -> tuple[str, ...]:
    """The environment variables a service's Secret holds in production (the optional ones, with `optional`)."""
    names = OPTIONAL_SECRETS.get(spec.name, ()) if optional else (*SECRETS, *OWN_SECRETS.get(spec.name, ()))
    return tuple(f"{spec.prefix}_{name}" for name in names)


def own_settings(spec: ServiceSpec) -> dict[str, str]:
    settings = {
        "HOST": "0.0.0.0", "PORT": str(spec.port), "LOG_LEVEL": "INFO",
        "KAFKA_BOOTSTRAP": KAFKA_BOOTSTRAP, "KAFKA_SECURITY": "sasl_ssl", "KAFKA_USERNAME": spec.name,
        "KAFKA_CA_FILE": f"{KAFKA_CA_DIR}/ca.crt",
        "CONSUMER_PROCESS": "false",  # the worker runs in its own pods, never as a child of `serve`
    }
    if spec.name == "outcomes":  # its faust changelogs replicated as the declared topics are (3 nodes)
        settings.update({"STREAM_DATA_DIR": OUTCOMES_STREAM_DIR, "STREAM_REPLICATION_FACTOR": "3"})
    if spec.name == "notifications":
        settings.update({"SMTP_HOST": "smtp.council.example", "SMTP_PORT": "587", "SMTP_STARTTLS": "true",
                         "SMTP_FROM": "frontdoor-notifications@council.example",
                         "PAGE_URL": "https://frontdoor.council.example/notifications/page/",
                         "COOKIE_SECURE": "true"})
    return {f"{spec.prefix}_{key}": value for key, value in settings.items()}


def config_maps(specs: tuple[ServiceSpec, ...]) -> list[dict[str, Any]]:
    shared = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata("frontdoor-settings", "settings"),
              "data": dict(PLATFORM_SETTINGS)}
    return [shared, *({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": metadata(f"{spec.name}-settings", "settings", spec.name),
                       "data": own_settings(spec)} for spec in specs)]


def service_account(spec: ServiceSpec) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(spec.name, "service-account", spec.name),
            "automountServiceAccountToken": False}


def disruption_budgets(spec: ServiceSpec) -> list[dict[str, Any]]:
    """A drain takes one pod of each at a time (with two API pods one keeps answering; a worker's partitions
    move to another worker, or wait for it, and nothing is lost)."""
    def budget(role: str, rule: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": metadata(f"{spec.name}-{role}", role, spec.name),
                "spec": {**rule, "selector": {"matchLabels": pod_labels(spec, role)}}}

    return [budget(role, {"maxUnavailable": 1}) for role in ("api", "worker")]
