"""The Kubernetes manifests of deploy/k8s: the base's generated files (the Strimzi Kafka cluster, its topics and
users from `frontdoor_contracts.topics` and the broker's ACLs, the CloudNativePG cluster, each service's
workloads), a renderer for the kustomize overlays, and their validation against the Kubernetes schemas and the
operators' CRD schemas vendored in deploy/k8s/schemas/. `python -m frontdoor_k8s --help` (deploy/k8s on
PYTHONPATH; `make k8s`)."""
