"""Wiring of `alpr-alert-engine`: rules, channels, history, dispatcher and the consumer runtime."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry

from alpr_common.config import resolve_files
from alpr_common.serde import RecordSerde, registry_client

from .channels import Channel, ImageFetcher, build_channels
from .config import AlertEngineConfig
from .dispatcher import DeadLetterSink, Dispatcher
from .fuzzy import ConfusableCosts
from .history import AlertPublisher, AlertStore, KafkaDeadLetters, OutcomeWriter
from .images import MinioImageFetcher
from .metrics import AlertMetrics
from .processor import AlertProcessor, AlertSink
from .ratelimit import ChannelLimiter, Cooldowns
from .sources import DbWatchlists, RuleProvider, RulesFile

if TYPE_CHECKING:
    from ..runtime import ConsumerMetrics, ConsumerRunner

logger = logging.getLogger(__name__)
RULES_FILE = "alert_rules.yaml"


def rules_path(sources: Sequence[str | Path] | None) -> Path | None:
    """The alert_rules.yaml the config came from (the last one wins, as in the merge)."""
    import os

    srcs = list(sources or [os.environ.get("ALPR_CONFIG_DIR", "config")])
    files = [p for p in resolve_files(AlertEngineConfig, srcs) if p.name == RULES_FILE]
    return files[-1] if files else None


@dataclass
class AlertEngine:
    processor: AlertProcessor
    dispatcher: Dispatcher
    sink: AlertSink
    metrics: AlertMetrics


def seed_cooldowns(cooldowns: Cooldowns, store: AlertStore, cfg: AlertEngineConfig) -> None:
    """After a restart, alerts raised within their rule's cooldown keep suppressing repeats."""
    cooldown = {r.name: r.cooldown_s for r in cfg.alerting.rules}
    horizon = max(cooldown.values(), default=0.0)
    if horizon <= 0:
        return
    for rule, plate, entry, kind, age_s in store.recent(horizon):
        if rule in cooldown and float(age_s) < cooldown[rule]:
            key = entry if entry and kind not in ("allowlist", "any") else plate
            cooldowns.seed((rule, key), float(age_s), cooldown[rule])


def _dispatcher(
    cfg: AlertEngineConfig,
    metrics: AlertMetrics,
    store: AlertStore | None,
    channels: dict[str, Channel] | None,
    dead_letters: DeadLetterSink | None,
    images: ImageFetcher | None,
) -> tuple[Dispatcher, list[Callable[[], None]]]:
    """The dispatcher with its channels, dead-letter sink and outcome writer, and their close steps."""
    a, topics = cfg.alerting, cfg.kafka.topics
    closers: list[Callable[[], None]] = []
    dead = dead_letters
    if dead is None:
        kafka_dead = KafkaDeadLetters(
            cfg.kafka.client_config(), topics.dlq.name, cfg.alert_engine.group_id, topics.plates.name
        )
        dead = kafka_dead
        closers.append(kafka_dead.close)
    outcomes = OutcomeWriter(store) if store is not None else None
    if outcomes is not None:
        closers.insert(0, outcomes.close)
    if images is None and a.channels.email.attach_crop:
        images = MinioImageFetcher(cfg.object_store)
    dispatcher = Dispatcher(
        channels or build_channels(a, images),
        a.retry,
        dead,
        metrics,
        ChannelLimiter({str(k): v for k, v in a.channels.rate_limits.items()}),
        on_outcome=(lambda al, o: outcomes(al, o.channel, o.to_json())) if outcomes else None,
    )
    return dispatcher, [dispatcher.close, *closers]


def _publisher(cfg: AlertEngineConfig) -> AlertPublisher:
    client = registry_client(cfg.kafka.schema_registry_url) if cfg.kafka.use_avro else None
    serde = RecordSerde("alert_event", client, use_avro=cfg.kafka.use_avro, auto_register=True)
    return AlertPublisher(cfg.kafka.client_config(), cfg.kafka.topics.alerts.name, serde)


def build_engine(
    cfg: AlertEngineConfig,
    rules_file: Path | None,
    *,
    use_db: bool = True,
    registry: CollectorRegistry = REGISTRY,
    channels: dict[str, Channel] | None = None,
    dead_letters: DeadLetterSink | None = None,
    images: ImageFetcher | None = None,
) -> AlertEngine:
    """Everything the service runs, from the config; keyword arguments replace parts (tests, benchmark)."""
    a = cfg.alerting
    metrics = AlertMetrics(registry)
    costs = ConfusableCosts(a.fuzzy)
    store = AlertStore(cfg.database.conninfo()) if use_db else None
    db_lists = DbWatchlists(cfg.database.conninfo()) if use_db and a.db_watchlists else None
    provider = RuleProvider(
        a, costs, RulesFile(rules_file), db_lists, a.reload_interval_s, a.watchlist_refresh_s, metrics
    )
    dispatcher, closers = _dispatcher(cfg, metrics, store, channels, dead_letters, images)
    publisher = _publisher(cfg)
    cooldowns = Cooldowns()
    if store is not None:
        try:
            seed_cooldowns(cooldowns, store, cfg)
        except Exception as exc:
            logger.warning("cooldowns not restored from the alerts table: %s", exc)
        closers.append(store.close)
    processor = AlertProcessor(
        provider, dispatcher, metrics, store, publisher.publish, cooldowns, a.alert_on_preview
    )
    return AlertEngine(processor, dispatcher, AlertSink(processor, [*closers, publisher.close]), metrics)


def make_runner(
    cfg: AlertEngineConfig, engine: AlertEngine, metrics: ConsumerMetrics | None = None, **kwargs: Any
) -> ConsumerRunner:
    """The consumer-runtime loop over the plate topic with ``engine.sink``."""
    from ..runtime import ConsumerRunner, make_decoder, plate_event_validator

    decoder = make_decoder(
        "plate_event",
        cfg.kafka.use_avro,
        cfg.kafka.schema_registry_url,
        plate_event_validator(cfg.alert_engine.max_future_skew_s),
    )
    return ConsumerRunner(
        "alerts",
        cfg.alert_engine,
        cfg.kafka,
        engine.sink,
        [cfg.kafka.topics.plates.name],
        decoder,
        metrics=metrics,
        **kwargs,
    )


def run(cfg: AlertEngineConfig, rules_file: Path | None) -> int:
    from ..runtime import ConsumerMetrics

    consumer_metrics = ConsumerMetrics("alerts")
    engine = build_engine(cfg, rules_file, registry=consumer_metrics.registry)
    runner = make_runner(cfg, engine, consumer_metrics)
    consumer_metrics.serve(cfg.alert_engine.metrics_port)
    logger.info(
        "alert-engine: %d rules, metrics on :%d, rules file %s",
        len(cfg.alerting.rules),
        cfg.alert_engine.metrics_port,
        rules_file,
    )
    runner.run()
    return 0
