"""Edge delivery settings: ``publisher:``, ``outbox:``, ``images:``, ``metrics:`` (config/events.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from alpr_common.settings import StrictModel


class PublisherSettings(StrictModel):
    """The Kafka producer. Endpoints, topics and Avro/JSON come from the ``kafka:`` section."""

    enabled: bool = Field(
        True,
        description="Produce to Kafka; false keeps every event in the outbox and the CSV log (said once).",
    )
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "lz4", description="librdkafka compression.type."
    )
    linger_ms: int = Field(10, ge=0, le=10_000, description="librdkafka linger.ms: wait to fill batches.")
    batch_num_messages: int = Field(10_000, ge=1, le=1_000_000, description="librdkafka batch.num.messages.")
    message_timeout_ms: int = Field(
        120_000,
        ge=1_000,
        le=3_600_000,
        description="librdkafka message.timeout.ms; an expired message is sent again from the outbox.",
    )
    queue_buffering_max_messages: int = Field(
        200_000, ge=1_000, le=10_000_000, description="librdkafka queue.buffering.max.messages."
    )
    max_in_flight_events: int = Field(
        100_000,
        ge=100,
        le=10_000_000,
        description="Events handed to the producer and not yet acknowledged, at most.",
    )
    auto_register_schemas: bool = Field(
        False,
        description="Register a missing schema subject (tests); production runs register_schemas.py.",
    )
    metrics_snapshot_interval_s: float = Field(
        30.0, ge=0, le=3600, description="Seconds between edge health snapshots to alpr.metrics (0: off)."
    )
    extra_config: dict[str, str] = Field(
        default_factory=dict, description="Further librdkafka producer settings (overrides the ones above)."
    )


class OutboxSettings(StrictModel):
    """The SQLite store-and-forward outbox."""

    path: Path = Field(Path("output/outbox.sqlite3"), description="SQLite database file (WAL mode).")
    max_events: int = Field(1_000_000, ge=100, le=100_000_000, description="Events held at most.")
    full_policy: Literal["refuse_new", "drop_oldest"] = Field(
        "drop_oldest",
        description="When full: refuse the new event, or drop the oldest one (counted and logged).",
    )
    drain_max_events_per_s: float = Field(
        20_000.0,
        gt=0,
        le=1_000_000,
        description="Backlog (not live) events handed to the producer per second, at most.",
    )
    drain_batch_size: int = Field(2_000, ge=1, le=100_000, description="Backlog rows read per query.")
    ack_batch_size: int = Field(
        5_000, ge=1, le=100_000, description="Acknowledged rows deleted per transaction, at most."
    )
    poll_interval_s: float = Field(
        0.02, gt=0, le=5, description="Delivery thread tick (producer poll, deletes)."
    )
    synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        "NORMAL", description="SQLite synchronous pragma (NORMAL with WAL survives a process kill)."
    )
    csv_log_path: Path | None = Field(
        Path("output/events.csv"), description="CSV line per accepted event (none: off)."
    )


class ImageSettings(StrictModel):
    """Plate/vehicle crops: local copy, spool and MinIO uploads."""

    enabled: bool = Field(True, description="Save and upload crops.")
    local_dir: Path = Field(Path("output/crops"), description="Local crops, one folder per day (YYYY-MM-DD).")
    spool_dir: Path = Field(Path("output/spool"), description="Uploads waiting for the object store.")
    upload_vehicle_crop: bool = Field(False, description="Also store the vehicle crop.")
    upload_frame: bool = Field(False, description="Also store the full frame.")
    jpeg_quality: int = Field(90, ge=10, le=100, description="JPEG quality of stored images.")
    upload_workers: int = Field(2, ge=1, le=64, description="Upload threads.")
    upload_attempts: int = Field(
        4, ge=1, le=20, description="Attempts per upload before it waits in the spool."
    )
    backoff_initial_s: float = Field(0.5, gt=0, le=60, description="First retry wait (doubles each attempt).")
    backoff_max_s: float = Field(10.0, gt=0, le=600, description="Longest retry wait.")
    spool_retry_interval_s: float = Field(
        5.0, gt=0, le=3600, description="Seconds between retries of the spool while the store is down."
    )
    retention_days: float = Field(7.0, gt=0, le=3650, description="Local crops older than this are deleted.")


class MetricsSettings(StrictModel):
    """Prometheus endpoint of the edge process."""

    enabled: bool = Field(True, description="Serve /metrics.")
    port: int = Field(8001, ge=0, le=65535, description="HTTP port of /metrics (0: any free port).")
    addr: str = Field("0.0.0.0", description="Listen address of /metrics.")
