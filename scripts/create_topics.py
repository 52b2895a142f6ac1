#!/usr/bin/env python3
"""Create the Kafka topics of config/kafka.yaml (partitions, replication, retention). Idempotent."""

from __future__ import annotations

import argparse
import logging
import sys

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

import _bootstrap  # noqa: F401
from alpr_common.config import AlprSettings, add_config_args, load_or_exit
from alpr_common.settings import KafkaSettings, TopicSpec

logger = logging.getLogger("create_topics")


class Settings(AlprSettings):
    config_files = ("kafka.yaml",)
    kafka: KafkaSettings = KafkaSettings()


def new_topic(spec: TopicSpec) -> NewTopic:
    return NewTopic(spec.name, num_partitions=spec.partitions, replication_factor=spec.replication_factor,
                    config={"retention.ms": str(spec.retention_ms), "cleanup.policy": "delete"})


def create_all(admin: AdminClient, specs: list[TopicSpec], timeout_s: float = 30.0) -> int:
    futures = admin.create_topics([new_topic(s) for s in specs], operation_timeout=timeout_s,
                                  request_timeout=timeout_s)
    failed = 0
    for name, fut in futures.items():
        try:
            fut.result()
            logger.info("created topic %s", name)
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                logger.info("topic %s already exists", name)
            else:
                failed += 1
                logger.error("could not create topic %s: %s", name, err.str())
    return failed


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_args(parser)
    cfg = load_or_exit(Settings, parser.parse_args(argv))
    admin = AdminClient(cfg.kafka.client_config())
    try:
        admin.list_topics(timeout=30)
    except KafkaException as exc:
        logger.error("Kafka at %s is not reachable: %s", cfg.kafka.bootstrap_servers, exc)
        return 1
    return 1 if create_all(admin, cfg.kafka.topics.all()) else 0


if __name__ == "__main__":
    sys.exit(main())
