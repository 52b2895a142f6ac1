"""Code both the edge and the core import: settings, configuration loading, Avro serde, Kafka, logging."""

__version__ = "0.1.0"

import contextlib
import warnings

# confluent-kafka's Schema Registry client imports authlib's httpx integration, which warns on import;
# authlib installs an "always" filter when its deprecate module loads, so ours must come after it.
with contextlib.suppress(ImportError):
    import authlib.deprecate  # noqa: F401
warnings.filterwarnings("ignore", message="The httpx module is deprecated")
