"""Edge delivery: SQLite outbox -> Kafka (Avro/JSON), crops to MinIO, edge metrics; ``build_sink(cfg)``."""

from .delivery import DeliveryService, Envelope, SubmitResult, producer_config
from .encoding import AvroEncoder, JsonEncoder, RegistryUnavailable, make_encoder
from .images import ImageStorageService, minio_client
from .metrics import EdgeMetrics
from .outbox import NewRow, OutboxFullError, OutboxRow, SqliteOutbox
from .sink import DeliverySink, build_sink, relax_gc, wait_delivered

__all__ = [
    "AvroEncoder",
    "DeliveryService",
    "DeliverySink",
    "EdgeMetrics",
    "Envelope",
    "ImageStorageService",
    "JsonEncoder",
    "NewRow",
    "OutboxFullError",
    "OutboxRow",
    "RegistryUnavailable",
    "SqliteOutbox",
    "SubmitResult",
    "build_sink",
    "make_encoder",
    "minio_client",
    "producer_config",
    "relax_gc",
    "wait_delivered",
]
