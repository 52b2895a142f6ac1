"""Core configuration: one root model per service, all reading config/kafka.yaml + config/services.yaml."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from alpr_common.config import AlprSettings
from alpr_common.settings import (
    DatabaseSettings,
    KafkaSettings,
    LoggingSettings,
    ObjectStoreSettings,
    SearchSettings,
    StrictModel,
)


class ConsumerSettings(StrictModel):
    group_id: str = Field(min_length=1, description="Kafka consumer group.")
    batch_size: int = Field(500, ge=1, le=100_000, description="Flush the sink after this many records.")
    flush_interval_s: float = Field(1.0, gt=0, le=300, description="Flush the sink at least this often.")
    poll_timeout_s: float = Field(0.5, gt=0, le=30, description="Kafka poll timeout.")
    batch_timeout_s: float = Field(30.0, gt=0, le=600, description="Processing timeout for one batch.")
    metrics_port: int = Field(ge=1, le=65535, description="Prometheus metrics port.")


class CoreConfig(AlprSettings):
    """Settings every core service shares."""

    config_files: ClassVar[tuple[str, ...]] = ("kafka.yaml", "services.yaml")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka and Schema Registry.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="PostgreSQL/TimescaleDB.")
    search: SearchSettings = Field(default_factory=SearchSettings, description="OpenSearch.")
    object_store: ObjectStoreSettings = Field(default_factory=ObjectStoreSettings, description="MinIO.")
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logging.")
    storage_consumer: ConsumerSettings = Field(
        ConsumerSettings(group_id="alpr-storage", metrics_port=8002, batch_size=2000),
        description="storage-consumer (TimescaleDB writer).")
    search_consumer: ConsumerSettings = Field(
        ConsumerSettings(group_id="alpr-search", metrics_port=8004, batch_size=50, flush_interval_s=5.0),
        description="search-consumer (OpenSearch indexer).")
    alert_engine: ConsumerSettings = Field(
        ConsumerSettings(group_id="alpr-alerts", metrics_port=8003, batch_size=100),
        description="alert-engine.")
    dlq_consumer: ConsumerSettings = Field(
        ConsumerSettings(group_id="alpr-dlq", metrics_port=8005, batch_size=100),
        description="dlq-consumer.")
    metrics_consumer: ConsumerSettings = Field(
        ConsumerSettings(group_id="alpr-metrics", metrics_port=8006, batch_size=100),
        description="metrics-consumer.")
