"""Code both the edge and the core import: settings, configuration loading, Avro serde, Kafka, logging."""

__version__ = "0.1.0"

import warnings

# confluent-kafka's Schema Registry client imports authlib's httpx integration, which warns on import.
warnings.filterwarnings("ignore", message="The httpx module is deprecated")
