"""The KPI read model: one fact row per event the partnership's KPIs are
counted from (`tables`), written idempotently by `apply.apply`, read by
`report.kpi_report` (the board's report, any period) and `gauges.kpi_collector`
(Prometheus, the last 12 months).

Kept import-light: `outcomes.models` imports `tables` so that Alembic sees
the tables; nothing here may import the service's app or stream."""
