"""storage-consumer: plate events from Kafka into PostgreSQL/TimescaleDB (table plate_events)."""

from .rows import COLUMNS, binary_row, copy_columns, event_json
from .sink import PostgresEventSink

__all__ = ["COLUMNS", "PostgresEventSink", "binary_row", "copy_columns", "event_json"]
