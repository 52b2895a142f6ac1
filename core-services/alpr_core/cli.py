"""Console scripts of the core services. Each accepts --config and --validate-config."""

from __future__ import annotations

import argparse
import gc
import logging
import sys

from alpr_common.config import add_config_args, load_or_exit

from .config import CoreConfig

logger = logging.getLogger(__name__)
SWITCH_INTERVAL_S = 0.0005


def _entry(prog: str, argv: list[str] | None) -> CoreConfig:
    parser = argparse.ArgumentParser(prog=prog, description=f"OVR-ALPR {prog}")
    add_config_args(parser)
    return load_or_exit(CoreConfig, parser.parse_args(argv))


def _not_built(prog: str, argv: list[str] | None) -> int:
    _entry(prog, argv)
    print(f"{prog}: this service is not implemented yet", file=sys.stderr)
    return 1


def _run_consumer(prog: str, argv: list[str] | None, service: str) -> int:
    """Load and validate the config, then run one consumer until SIGTERM/SIGINT (alpr_core.runtime)."""
    import importlib

    from alpr_common.logs import configure_logging

    cfg = _entry(prog, argv)
    configure_logging(cfg.logging)
    runner = importlib.import_module(f"alpr_core.{service}.service").build_runner(cfg)
    runner.metrics.serve(runner.settings.metrics_port)
    # A batch is tens of thousands of short-lived, acyclic decoded records: with the default
    # thresholds the cyclic GC would scan them (and every start-up object) many times per batch
    # (~10% of the storage-consumer's CPU). Start-up objects go to the permanent generation and
    # young collections run every 50,000 allocations instead of 700.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    # The main thread decodes without pause while the sink threads wait on the database; each reply
    # then waits for the GIL for up to the switch interval (5 ms by default), several times per chunk,
    # while the database sits idle. 0.5 ms: +7 % storage events/s in an interleaved A/B run
    # (scripts/benchmark_consumers.py --ab, docs/benchmarks.md).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    runner.run()
    return 0


def storage_main(argv: list[str] | None = None) -> int:
    """alpr-storage-consumer: plate events -> PostgreSQL/TimescaleDB (metrics :8002)."""
    return _run_consumer("alpr-storage-consumer", argv, "storage")


def search_main(argv: list[str] | None = None) -> int:
    """alpr-search-consumer: plate events -> OpenSearch monthly indices (metrics :8004)."""
    return _run_consumer("alpr-search-consumer", argv, "search")


def alert_main(argv: list[str] | None = None) -> int:
    """alpr-alert-engine: rules and watchlists over plate events, notifications, alert history."""
    from alpr_common.logs import configure_logging

    from .alerting.config import AlertEngineConfig
    from .alerting.service import rules_path, run

    parser = argparse.ArgumentParser(prog="alpr-alert-engine", description="OVR-ALPR alert engine")
    add_config_args(parser)
    args = parser.parse_args(argv)
    cfg = load_or_exit(AlertEngineConfig, args)
    configure_logging(cfg.logging)
    return run(cfg, rules_path(args.config))


def dlq_main(argv: list[str] | None = None) -> int:
    """alpr-dlq-consumer: alpr.dlq -> dlq_messages, counts by error type (metrics :8005)."""
    return _run_consumer("alpr-dlq-consumer", argv, "dlq")


def metrics_main(argv: list[str] | None = None) -> int:
    """alpr-metrics-consumer: alpr.metrics -> Prometheus gauges by site/host/camera on :8006."""
    return _run_consumer("alpr-metrics-consumer", argv, "metrics")


def api_main(argv: list[str] | None = None) -> int:
    """alpr-api: the query API (serve, keys, retention); see alpr_core.api.cli."""
    from .api.cli import main

    return main(argv)
