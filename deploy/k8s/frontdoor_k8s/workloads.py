"""Each service's two Deployments, from the command line every service shares (frontdoor_platform.cli):

- `<service>-api` runs `serve` as one process (`<PREFIX>_CONSUMER_PROCESS=false`) without the consumer
  (`<PREFIX>_RUN_CONSUMER=false`): the HTTP API, the outbox relay, the timers and the purges. Its Service
  takes the traffic; /healthz and /readyz are its probes.
- `<service>-worker` runs `consume` (the consumer, the outbox relay, the timers and the purges; no HTTP) in
  the `worker` container, and beside it, in the `ops` container, `serve` as the API half of the pair `serve`
  makes on one machine (`<PREFIX>_ROLE=api`): the two share Prometheus's multiprocess directory and the process
  namespace, so the ops container's /metrics holds the worker's metrics too and its /readyz says whether the
  worker reported lately with its consumer and relay running (the worker's status file). The worker container's
  own liveness is the same status file, read with the kit's `read_status`.

Both are separately scalable. Containers run as the image's user, on a read-only root filesystem, without
capabilities; /tmp (and the metrics directory, and outcomes' stream tables) are emptyDirs."""

from __future__ import annotations

from typing import Any

from frontdoor_stack.services import ServiceSpec

from .layout import DB_CA_DIR, DB_CA_SECRET, KAFKA_CA_DIR, KAFKA_CA_SECRET, METRICS_DIR, RUN_AS, metadata

OUTCOMES_STREAM_DIR = "/var/lib/frontdoor/outcomes-stream"  # faust's tables (OUTCOMES_STREAM_DATA_DIR)
STATUS_PROBE = ("import sys; from frontdoor_platform.workers import read_status; "
                "sys.exit(0 if read_status() else 1)")
API_RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
WORKER_RESOURCES = {"requests": {"cpu": "500m", "memory": "384Mi"}, "limits": {"cpu": "1", "memory": "768Mi"}}
OPS_RESOURCES = {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"cpu": "500m", "memory": "384Mi"}}


def image(spec: ServiceSpec) -> str:
    """The image deploy/docker/service.Dockerfile builds with SERVICE=<name>; the overlays set its tag."""
    return f"frontdoor-{spec.name}"


def pod_labels(spec: ServiceSpec, role: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/component": role}


def _env(spec: ServiceSpec, **settings: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": f"{spec.prefix}_{key}", "value": value} for key, value in settings.items()]
    env.append({"name": f"{spec.prefix}_KAFKA_PASSWORD",  # the User Operator's Secret of the service's KafkaUser
                "valueFrom": {"secretKeyRef": {"name": spec.name, "key": "password"}}})
    return env


def _env_from(spec: ServiceSpec) -> list[dict[str, Any]]:
    return [{"configMapRef": {"name": "frontdoor-settings"}}, {"configMapRef": {"name": f"{spec.name}-settings"}},
            {"secretRef": {"name": f"{spec.name}-secrets"}}]


def _security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}}


def _mounts(spec: ServiceSpec, metrics: bool) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"},
              {"name": "kafka-ca", "mountPath": KAFKA_CA_DIR, "readOnly": True},
              {"name": "db-ca", "mountPath": DB_CA_DIR, "readOnly": True}]
    if metrics:
        mounts.append({"name": "metrics", "mountPath": METRICS_DIR})
    if spec.name == "outcomes":
        mounts.append({"name": "stream", "mountPath": OUTCOMES_STREAM_DIR})
    return mounts


def _volumes(spec: ServiceSpec, metrics: bool) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        {"name": "kafka-ca", "secret": {"secretName": KAFKA_CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"name": "db-ca", "secret": {"secretName": DB_CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]
    if metrics:
        volumes.append({"name": "metrics", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}})
    if spec.name == "outcomes":
        volumes.append({"name": "stream", "emptyDir": {"sizeLimit": "1Gi"}})
    return volumes


def _http_container(spec: ServiceSpec, name: str, resources: dict[str, Any], metrics: bool,
                    **settings: str) -> dict[str, Any]:
    """A container running `serve`, with the probes on /healthz and /readyz."""
    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "timeoutSeconds": 3,
                "failureThreshold": failures}

    env = _env(spec, **settings)
    if metrics:
        env.append({"name": "PROMETHEUS_MULTIPROC_DIR", "value": METRICS_DIR})
    return {
        "name": name, "image": image(spec), "command": [spec.command], "args": ["serve"],
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
        "envFrom": _env_from(spec), "env": env, "resources": resources,
        "startupProbe": probe("/healthz", 2, 60),  # migrations run before the app answers
        "livenessProbe": probe("/healthz", 10, 3), "readinessProbe": probe("/readyz", 5, 3),
        "securityContext": _security(), "volumeMounts": _mounts(spec, metrics),
    }


def _worker_container(spec: ServiceSpec) -> dict[str, Any]:
    return {
        "name": "worker", "image": image(spec), "command": [spec.command], "args": ["consume"],
        "envFrom": _env_from(spec), "env": [*_env(spec), {"name": "PROMETHEUS_MULTIPROC_DIR", "value": METRICS_DIR}],
        "resources": WORKER_RESOURCES,
        "livenessProbe": {"exec": {"command": ["python", "-c", STATUS_PROBE]}, "initialDelaySeconds": 60,
                          "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        "securityContext": _security(), "volumeMounts": _mounts(spec, metrics=True),
    }


def _pod(spec: ServiceSpec, role: str, containers: list[dict[str, Any]], metrics: bool) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "serviceAccountName": spec.name, "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": 30, "containers": containers, "volumes": _volumes(spec, metrics),
    }
    if metrics:
        pod["shareProcessNamespace"] = True  # one pid space: the multiprocess files are named by pid
    return {"metadata": {"labels": {**pod_labels(spec, role), "app.kubernetes.io/part-of": "frontdoor"}},
            "spec": pod}


def deployments(spec: ServiceSpec) -> list[dict[str, Any]]:
    api = _http_container(spec, "api", API_RESOURCES, metrics=False, RUN_CONSUMER="false")
    ops = _http_container(spec, "ops", OPS_RESOURCES, metrics=True, ROLE="api")
    result = []
    for role, containers, metrics, strategy in (
            ("api", [api], False, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
            ("worker", [_worker_container(spec), ops], True, {"type": "Recreate"})):
        result.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": metadata(f"{spec.name}-{role}", role, spec.name),
            "spec": {"replicas": 1, "selector": {"matchLabels": pod_labels(spec, role)},
                     "strategy": strategy, "template": _pod(spec, role, containers, metrics)},
        })
    return result
