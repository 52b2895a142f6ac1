"""Consumer runtime shared by every core consumer (storage, search, dlq, metrics, alert-engine).

API (see docs/consumers.md):

    from alpr_core.runtime import (BatchSink, ConsumerRunner, PermanentRecordError, Record,
                                   TransientSinkError, make_decoder, plate_event_validator)

    class MySink:                               # implements BatchSink
        def write(self, batch: list[Record]) -> None:   # record.value is the decoded dict
            ...   # make durable, idempotently; raise TransientSinkError to retry (partitions paused)
                  # or PermanentRecordError([(record, reason), ...]) to dead-letter some records
        def close(self) -> None: ...

    decoder = make_decoder("plate_event", cfg.kafka.use_avro, cfg.kafka.schema_registry_url,
                           plate_event_validator(cfg.alert_engine.max_future_skew_s))
    runner = ConsumerRunner("alerts", cfg.alert_engine, cfg.kafka, MySink(), [cfg.kafka.topics.plates.name],
                            decoder)
    runner.metrics.serve(cfg.alert_engine.metrics_port)
    runner.run()                                # until SIGTERM/SIGINT; commits after every durable batch
"""

from .decoding import AvroRegistryDecoder, Decoder, JsonDecoder, RawDecoder, make_decoder
from .dlq import DeadLetter, DlqPublisher
from .errors import (
    DeserializationError,
    PermanentDecodeError,
    PermanentRecordError,
    TransientDecodeError,
    TransientSinkError,
    UnknownSchemaError,
    ValidationError,
)
from .kafka_io import consumer_config
from .metrics import ConsumerMetrics
from .records import Record
from .runner import ConsumerRunner
from .sink import BatchSink
from .validation import plate_event_validator

__all__ = [
    "AvroRegistryDecoder",
    "BatchSink",
    "ConsumerMetrics",
    "ConsumerRunner",
    "DeadLetter",
    "Decoder",
    "DeserializationError",
    "DlqPublisher",
    "JsonDecoder",
    "PermanentDecodeError",
    "PermanentRecordError",
    "RawDecoder",
    "Record",
    "TransientDecodeError",
    "TransientSinkError",
    "UnknownSchemaError",
    "ValidationError",
    "consumer_config",
    "make_decoder",
    "plate_event_validator",
]
