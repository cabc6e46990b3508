"""Front Door notifications: tells schools' key adults about DA incidents."""

__version__ = "0.1.0"
