"""Front Door event contracts: pydantic models, topics and identifiers.

Every service imports from here and from nowhere else shared.
"""
