"""Code both the edge and the core import: settings, configuration loading, Avro serde, Kafka, logging."""

__version__ = "0.1.0"
