"""One module per server; ``registry()`` lists them in start order."""

from __future__ import annotations

from ..base import Service


def registry() -> dict[str, Service]:
    services: list[Service] = []
    # Each server module appends itself here, in start order (see the helpers' modules).
    from .postgres import Postgres

    services.append(Postgres())
    from .minio import MinIO

    services.append(MinIO())
    from .kafka import Kafka

    services.append(Kafka())
    from .apicurio import Apicurio

    services.append(Apicurio())
    from .opensearch import OpenSearch

    services.append(OpenSearch())
    from .prometheus import Prometheus

    services.append(Prometheus())
    return {svc.name: svc for svc in services}
