"""What a service shows the cluster: its Service (the API pods), a headless metrics Service over every pod of
the service and the ServiceMonitor that scrapes it, and its NetworkPolicy: in, the HTTP port from namespaces
labelled `frontdoor/ingress: allowed` (the API pods only: an ingress controller) and `frontdoor/monitoring:
allowed` (Prometheus); out, DNS, the Kafka brokers' TLS listener and the PostgreSQL cluster, and for
notifications HTTPS (schools' webhooks, to public addresses) and SMTP (email alerts)."""

from __future__ import annotations

from typing import Any

from frontdoor_stack.services import ServiceSpec

from .layout import DB_CLUSTER, DB_PORT, KAFKA_CLUSTER, KAFKA_PORT, NAMESPACE, metadata
from .workloads import pod_labels

PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"]
SMTP_PORTS = (25, 465, 587)
MONITORING = {"frontdoor/monitoring": "allowed"}
INGRESS = {"frontdoor/ingress": "allowed"}


def services(spec: ServiceSpec) -> list[dict[str, Any]]:
    http = {"name": "http", "port": spec.port, "targetPort": "http", "protocol": "TCP"}
    api = {"apiVersion": "v1", "kind": "Service", "metadata": metadata(spec.name, "api", spec.name),
           "spec": {"selector": pod_labels(spec, "api"), "ports": [http]}}
    scraped = {"apiVersion": "v1", "kind": "Service",
               "metadata": metadata(f"{spec.name}-metrics", "metrics", spec.name),
               "spec": {"clusterIP": "None", "selector": {"app.kubernetes.io/name": spec.name}, "ports": [http]}}
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": metadata(spec.name, "metrics", spec.name),
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": spec.name,
                                              "app.kubernetes.io/component": "metrics"}},
                 "namespaceSelector": {"matchNames": [NAMESPACE]},
                 "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "scheme": "http"}]},
    }
    return [api, scraped, monitor]


def _from_namespaces(labels: dict[str, str], port: int) -> dict[str, Any]:
    return {"from": [{"namespaceSelector": {"matchLabels": labels}}], "ports": [{"port": port, "protocol": "TCP"}]}


def _egress(spec: ServiceSpec) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                 "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        {"to": [{"podSelector": {"matchLabels": {"strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/kind": "Kafka"}}}],
         "ports": [{"port": KAFKA_PORT, "protocol": "TCP"}]},
        {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": DB_CLUSTER}}}],
         "ports": [{"port": DB_PORT, "protocol": "TCP"}]},
    ]
    if spec.name == "notifications":
        rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}],
                      "ports": [{"port": 443, "protocol": "TCP"}]})
        rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                      "ports": [{"port": port, "protocol": "TCP"} for port in SMTP_PORTS]})
    return rules


def network_policies(spec: ServiceSpec) -> list[dict[str, Any]]:
    def policy(role: str, ingress: list[dict[str, Any]]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": metadata(f"{spec.name}-{role}", role, spec.name),
                "spec": {"podSelector": {"matchLabels": pod_labels(spec, role)}, "policyTypes": ["Ingress", "Egress"],
                         "ingress": ingress, "egress": _egress(spec)}}

    return [policy("api", [_from_namespaces(INGRESS, spec.port), _from_namespaces(MONITORING, spec.port)]),
            policy("worker", [_from_namespaces(MONITORING, spec.port)])]
