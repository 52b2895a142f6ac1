"""storage-consumer: plate events from Kafka into PostgreSQL/TimescaleDB (table plate_events)."""

from .rows import COLUMNS, copy_line, event_json, insert_sql
from .sink import PostgresEventSink

__all__ = ["COLUMNS", "PostgresEventSink", "copy_line", "event_json", "insert_sql"]
