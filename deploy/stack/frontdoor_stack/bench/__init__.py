"""`frontdoor-stack bench` (`make bench`): the project's throughput beside
its anchors, measured in one run on the same synthetic payloads.

Anchors: Kafka's own ProducerPerformance / ConsumerPerformance
(`anchors_kafka_tools`), a bare aiokafka consume-validate-produce-commit loop
(`anchor_aiokafka`) and a bare FastAPI endpoint (`anchor_fastapi`).
Project: contacts intake from Kafka (`contacts_kafka`) and over HTTP
(`contacts_http`), allocation decisions (`allocation`). `runner` holds them
together; `report` writes deploy/bench/results.md.
"""
