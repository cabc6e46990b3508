"""Front Door allocation: decided referrals to teams and workers."""

__version__ = "0.1.0"
