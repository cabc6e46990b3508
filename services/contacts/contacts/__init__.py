"""Front Door contacts service."""
