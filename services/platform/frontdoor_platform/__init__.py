"""Plumbing every Front Door service needs in the same way. Services still
talk to each other only through Kafka; this holds no domain rules."""
