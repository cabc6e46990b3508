"""PostgreSQL as a CloudNativePG `Cluster`: three instances, one synchronous standby, and per service its own
login role (the operator sets its password from the Secret `frontdoor-db-<service>`, type basic-auth) owning
its own `Database`. Each service's `<PREFIX>_DATABASE_URL` (in its Secret `<service>-secrets`) names the primary
(`frontdoor-db-rw`), its database, its role and that password, over TLS verified against the cluster's CA."""

from __future__ import annotations

from typing import Any

from frontdoor_contracts.topics import SERVICES

from .layout import DB_CA_DIR, DB_CLUSTER, DB_PORT, NAMESPACE, metadata

API = "postgresql.cnpg.io/v1"
CNPG_VERSION = "1.30.0"  # the CRD schemas in deploy/k8s/schemas/
INSTANCES = 3


def role_secret(service: str) -> str:
    return f"{DB_CLUSTER}-{service}"


def database_url(service: str, password: str) -> str:
    """The URL a service's Secret holds: its role and database on the primary, TLS verified."""
    host = f"{DB_CLUSTER}-rw.{NAMESPACE}.svc"
    return (f"postgresql://{service}:{password}@{host}:{DB_PORT}/{service}"
            f"?sslmode=verify-full&sslrootcert={DB_CA_DIR}/ca.crt")


def cluster() -> list[dict[str, Any]]:
    postgres = {
        "apiVersion": API,
        "kind": "Cluster",
        "metadata": metadata(DB_CLUSTER, "postgresql"),
        "spec": {
            "instances": INSTANCES,
            "storage": {"size": "20Gi"},
            "postgresql": {"synchronous": {"method": "any", "number": 1, "dataDurability": "required"},
                           # A worker's node lost without a goodbye: its session (and the relay's and the outcomes
                           # stream's advisory locks it holds) ends within about 2 minutes, not the kernel's 2 h.
                           "parameters": {"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10",
                                          "tcp_keepalives_count": "6", "tcp_user_timeout": "120000"}},
            "managed": {"roles": [{"name": service, "ensure": "present", "login": True,
                                   "passwordSecret": {"name": role_secret(service)}} for service in SERVICES]},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
        },
    }
    databases = [{
        "apiVersion": API,
        "kind": "Database",
        "metadata": metadata(role_secret(service), "postgresql"),
        "spec": {"name": service, "owner": service, "cluster": {"name": DB_CLUSTER}},
    } for service in SERVICES]
    return [postgres, *databases]
