"""Front Door allocation: every Early Help family from SPA decision to offer within the target."""

__version__ = "1.0.0"
