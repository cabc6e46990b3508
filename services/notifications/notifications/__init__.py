"""Front Door notifications: tells schools' key adults about DA incidents before the
next school day (being built: issue 9)."""

__version__ = "0.2.0"
