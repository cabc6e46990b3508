"""The KPI read model: one fact row per event the partnership's KPIs are
counted from (`tables`), written idempotently by `apply.apply`, read by
`report.kpi_report` (the board's report, any period; its KPIs in
`front_door_kpis`, `early_help_kpis` and `family_kpis`, over `queries`) and
`gauges.kpi_collector` (Prometheus, the last 12 months). `calculations` holds
the arithmetic that needs no database (ratios, medians, the 12 months).

The fact tables are on the service's metadata (`models.OutcomesTable`);
`migrations` gathers them with the service's own for Alembic. Nothing here
imports the migrations, the API, the stream or the app."""
