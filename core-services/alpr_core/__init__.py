"""Core services: Kafka consumers (storage, search, alerts, DLQ, metrics) and the query API."""
