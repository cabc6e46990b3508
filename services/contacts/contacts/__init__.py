"""Front Door contacts service."""
__version__ = "1.0.0"
