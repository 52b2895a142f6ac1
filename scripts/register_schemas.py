#!/usr/bin/env python3
"""Register schemas/*.avsc with the Schema Registry under BACKWARD compatibility.

Each topic's value schema goes under ``<topic>-value`` (TopicNameStrategy). The subject's compatibility
is set to BACKWARD first, so a later incompatible change is refused by the registry. Idempotent:
registering an identical schema returns the existing id. Retries while the registry starts.
"""

from __future__ import annotations

import argparse
import logging
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

import _bootstrap  # noqa: F401
from alpr_common.config import AlprSettings, add_config_args, load_or_exit
from alpr_common.schemas import DLQ_ENVELOPE_SUBJECT, TOPIC_SCHEMAS, schema_str, subject_for_topic
from alpr_common.settings import KafkaSettings

logger = logging.getLogger("register_schemas")


class Settings(AlprSettings):
    config_files = ("kafka.yaml",)
    kafka: KafkaSettings = KafkaSettings()


def subjects(kafka: KafkaSettings) -> dict[str, str]:
    """subject -> schema file stem."""
    out = {subject_for_topic(getattr(kafka.topics, role).name): name for role, name in TOPIC_SCHEMAS.items()}
    out[DLQ_ENVELOPE_SUBJECT] = "dlq_envelope"
    return out


@retry(retry=retry_if_exception_type(Exception), wait=wait_exponential(min=1, max=5), stop=stop_after_delay(60),
       reraise=True)
def register(client: SchemaRegistryClient, subject: str, name: str) -> int:
    client.set_compatibility(subject_name=subject, level="BACKWARD")
    return client.register_schema(subject, Schema(schema_str(name), "AVRO"))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_args(parser)
    cfg = load_or_exit(Settings, parser.parse_args(argv))
    client = SchemaRegistryClient({"url": cfg.kafka.schema_registry_url})
    failed = 0
    for subject, name in subjects(cfg.kafka).items():
        try:
            schema_id = register(client, subject, name)
            logger.info("registered %s as subject=%s id=%s (BACKWARD)", name, subject, schema_id)
        except (SchemaRegistryError, OSError, Exception) as exc:
            failed += 1
            logger.error("could not register %s as subject=%s at %s: %s", name, subject,
                         cfg.kafka.schema_registry_url, exc)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
