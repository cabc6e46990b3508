"""Front Door outcomes: families found in data, sustained outcomes and the
partnership's KPIs (being built: issue 10)."""

__version__ = "0.2.0"
