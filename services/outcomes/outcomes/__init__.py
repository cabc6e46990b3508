"""Front Door outcomes: front-door measures (referrals, re-referrals, timeliness)."""

__version__ = "0.1.0"
