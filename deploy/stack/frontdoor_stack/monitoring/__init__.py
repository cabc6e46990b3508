"""Prometheus, Alertmanager and Grafana for Front Door, as code.

The rules (`alerts`, `recording`), the Prometheus and Alertmanager
configurations (`configs`) and the Grafana dashboards (`boards`, built by
`dashboards`) are written into deploy/monitoring/ by
`python -m frontdoor_stack.monitoring.build`; a test fails when the files
there differ from what this code makes. `local` runs Prometheus and
Alertmanager beside the local stack (`frontdoor-stack run|up`)."""
