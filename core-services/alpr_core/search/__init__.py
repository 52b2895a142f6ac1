"""search-consumer: plate events from Kafka into OpenSearch monthly indices behind an alias."""

from .documents import bulk_action, bulk_lines, event_document, index_name, index_template, ism_policy
from .sink import OpenSearchEventSink, raise_for_failures

__all__ = [
    "OpenSearchEventSink",
    "bulk_action",
    "bulk_lines",
    "event_document",
    "index_name",
    "index_template",
    "ism_policy",
    "raise_for_failures",
]
