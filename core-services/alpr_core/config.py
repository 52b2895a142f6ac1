"""Core configuration: one root model per service, all reading config/kafka.yaml + config/services.yaml."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

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
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="Where a group without committed offsets starts reading.")
    retry_backoff_s: tuple[float, ...] = Field(
        (2.0, 4.0, 8.0), min_length=1, max_length=20,
        description="Delays between retries of a batch after a transient sink error; the last one repeats.")
    lag_interval_s: float = Field(5.0, gt=0, le=3600, description="How often the lag gauge is refreshed.")
    max_future_skew_s: float = Field(
        300.0, ge=0, le=30 * 24 * 3600,
        description="Events captured further than this in the future are invalid (sent to the DLQ).")

    @field_validator("retry_backoff_s")
    @classmethod
    def _positive_backoff(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(v <= 0 or v > 3600 for v in value):
            raise ValueError("every retry delay must be in (0, 3600] seconds")
        return value


class StorageSinkSettings(StrictModel):
    table: str = Field("plate_events", pattern=r"^[a-z_][a-z0-9_]*$", description="Target table.")
    store_raw: bool = Field(
        False,
        description="Also store the full decoded event in the jsonb column raw (every field already has its "
        "own column; costs database CPU and WAL per row).",
    )
    statement_timeout_s: float = Field(30.0, gt=0, le=600,
                                       description="PostgreSQL statement_timeout per batch.")


class SearchSinkSettings(StrictModel):
    retention_days: int = Field(90, ge=1, le=3650, description="ISM policy deletes indices older than this.")
    shards: int = Field(1, ge=1, le=64, description="Primary shards of each monthly index.")
    replicas: int = Field(0, ge=0, le=5, description="Replicas of each monthly index (0 on a single node).")
    refresh_interval_s: float = Field(1.0, gt=0, le=300, description="Index refresh interval.")
    catchup_refresh_interval_s: float = Field(
        30.0, gt=0, le=300,
        description="Refresh interval of the indices while the consumer catches up (records older than "
                    "catchup_lag_s): fewer, larger segments; documents become searchable later.")
    catchup_lag_s: float = Field(
        30.0, gt=0, le=86400,
        description="A batch whose newest record is older than this (Kafka timestamp) means catching up.")
    request_timeout_s: float = Field(30.0, gt=0, le=600, description="Timeout of one bulk request.")
    max_chunk_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024,
                                 description="Largest bulk request body in bytes.")
    max_429_retries: int = Field(3, ge=0, le=20,
                                 description="In-request retries of documents refused with 429 before "
                                             "the batch is retried with the consumer backoff.")


class MetricsExporterSettings(StrictModel):
    series_ttl_s: float = Field(300.0, gt=0, le=7 * 24 * 3600,
                                description="Drop the gauges of an edge/camera silent for this long.")


class AuditSettings(StrictModel):
    require_reason: bool = Field(
        False, description="Reject audited searches and exports without an X-Reason header (400).")
    flush_interval_s: float = Field(
        0.2, gt=0, le=10, description="Audit rows are batched and written at least this often.")
    queue_max: int = Field(
        10_000, ge=100, le=1_000_000, description="Pending audit rows before requests wait for a flush.")


class RetentionSettings(StrictModel):
    days: int = Field(
        90, ge=1, le=3650,
        description="Keep plate events, their index documents and crops this many days (e.g. 30 or 90).")
    apply_table: bool = Field(True, description="Delete plate_events rows (and alerts) older than the limit.")
    apply_indices: bool = Field(True, description="Delete monthly OpenSearch indices wholly past the limit.")
    apply_bucket: bool = Field(True, description="Set a MinIO lifecycle rule expiring crops after the limit.")


class ApiSettings(StrictModel):
    host: str = Field("0.0.0.0", min_length=1, max_length=255, description="Bind address of alpr-api.")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port of alpr-api.")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes.")
    page_size_default: int = Field(100, ge=1, le=10_000, description="Rows per page when limit is omitted.")
    page_size_max: int = Field(1000, ge=1, le=10_000, description="Largest accepted limit.")
    max_offset: int = Field(100_000, ge=0, le=10_000_000, description="Largest accepted offset.")
    max_time_range_days: int = Field(
        31, ge=1, le=3650, description="Longest start_time..end_time window a query may ask for.")
    cors_origins: list[str] = Field(
        default_factory=list, max_length=100,
        description="Origins allowed by CORS (exact URLs; no '*' unless set explicitly).")
    key_cache_ttl_s: float = Field(
        30.0, ge=0, le=3600, description="How long a verified API key is cached (revocation delay).")
    presign_expiry_s: int = Field(
        300, ge=10, le=86_400, description="Lifetime of presigned image URLs in seconds.")
    image_public_url: str | None = Field(
        None, max_length=255, pattern=r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?/?$",
        description="MinIO as clients reach it (e.g. https://images.example.org), when it differs from "
                    "object_store.endpoint; presigned URLs are signed for this host.")
    request_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Timeout for one database or OpenSearch call.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Audit log of searches.")
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings, description="Data retention across table, indices and bucket.")


class CoreConfig(AlprSettings):
    """Settings every core service shares."""

    config_files: ClassVar[tuple[str, ...]] = ("kafka.yaml", "services.yaml")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka and Schema Registry.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings,
                                       description="PostgreSQL/TimescaleDB.")
    search: SearchSettings = Field(default_factory=SearchSettings, description="OpenSearch.")
    object_store: ObjectStoreSettings = Field(default_factory=ObjectStoreSettings, description="MinIO.")
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logging.")
    storage_consumer: ConsumerSettings = Field(
        ConsumerSettings(group_id="alpr-storage", metrics_port=8002, batch_size=10_000),
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
    storage: StorageSinkSettings = Field(default_factory=StorageSinkSettings,
                                         description="storage-consumer sink (PostgreSQL).")
    search_index: SearchSinkSettings = Field(default_factory=SearchSinkSettings,
                                             description="search-consumer sink (OpenSearch indices, ISM).")
    metrics_exporter: MetricsExporterSettings = Field(default_factory=MetricsExporterSettings,
                                                      description="metrics-consumer gauges.")
    api: ApiSettings = Field(default_factory=ApiSettings, description="query-api (alpr-api).")
