"""dlq-consumer: alpr.dlq into the dlq_messages table, counted by error type; see scripts/replay_dlq.py."""

from .sink import DlqEntry, DlqMessageSink, parse_entry

__all__ = ["DlqEntry", "DlqMessageSink", "parse_entry"]
