"""Front Door local stack: broker, topics, services, demo stream."""
