"""Prometheus metrics of the alert engine (exposed on :8003 by the service)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram


class AlertMetrics:
    """The metric names are part of the contract (dashboards, docs): change them nowhere else."""

    def __init__(self, registry: CollectorRegistry = REGISTRY):
        self.events = Counter(
            "alpr_alert_events_processed_total",
            "Plate events evaluated by the alert engine.",
            registry=registry,
        )
        self.triggered = Counter(
            "alpr_alert_triggered_total", "Alerts raised, by rule.", ["rule"], registry=registry
        )
        self.sent = Counter(
            "alpr_notifications_sent_total",
            "Notifications delivered, by channel.",
            ["channel"],
            registry=registry,
        )
        self.failed = Counter(
            "alpr_notifications_failed_total",
            "Notifications that failed after every retry (sent to the DLQ), by channel.",
            ["channel"],
            registry=registry,
        )
        self.duration = Histogram(
            "alpr_rule_evaluation_duration_seconds",
            "Time to evaluate every rule against one plate event.",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1),
            registry=registry,
        )
        self.suppressed = Counter(
            "alpr_alerts_suppressed_total",
            "Alerts or notifications suppressed, by reason (cooldown, rate_limit).",
            ["reason"],
            registry=registry,
        )
        self.rules_loaded = Counter(
            "alpr_alert_rules_reloads_total", "Rule (re)loads, by result.", ["result"], registry=registry
        )
