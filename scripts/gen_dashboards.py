#!/usr/bin/env python3
"""Generate the Grafana dashboards (core-services/monitoring/grafana/dashboards/*.json) from one table.

Each panel names its datasource uid (prometheus, loki, postgres: provisioned in
grafana/provisioning/datasources) and its query. ``--check`` exits 1 when the JSON files are stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "core-services" / "monitoring" / "grafana" / "dashboards"

P, L, S = "prometheus", "loki", "postgres"
# dashboard uid -> (title, [(panel title, datasource uid, query, unit, panel type)])
DASHBOARDS: dict[str, tuple[str, list[tuple[str, str, str, str, str]]]] = {
    "alpr-overview": ("ALPR Overview", [
        ("Frames per second by camera", P, "sum by (camera) (alpr_edge_camera_fps)", "fps", "timeseries"),
        ("Plate reads per minute by camera", P, "sum by (camera) (rate(alpr_edge_reads_total[5m])) * 60", "short",
         "timeseries"),
        ("Events by outcome (per s)", P, "sum by (outcome) (rate(alpr_edge_events_total[5m]))", "short",
         "timeseries"),
        ("Stage latency p95", P,
         "histogram_quantile(0.95, sum by (le, stage) (rate(alpr_edge_stage_latency_seconds_bucket[5m])))", "s",
         "timeseries"),
        ("Events stored per minute", P,
         'sum(rate(alpr_consumer_records_written_total{consumer="storage"}[5m])) * 60', "short", "timeseries"),
        ("Events per camera, last 24 h", S,
         "SELECT camera_id AS metric, count(*) AS value FROM plate_events "
         "WHERE captured_at > now() - interval '24 hours' GROUP BY camera_id ORDER BY value DESC", "short",
         "barchart"),
        ("Average confidence and latency per camera, last 24 h", S,
         "SELECT camera_id, round(avg(plate_confidence)::numeric, 3) AS avg_confidence, "
         "round(avg(latency_ms)::numeric, 1) AS avg_latency_ms FROM plate_events "
         "WHERE captured_at > now() - interval '24 hours' GROUP BY camera_id ORDER BY camera_id", "short", "table"),
    ]),
    "alpr-edge-health": ("Edge Health", [
        ("Outbox depth", P, "max by (instance) (alpr_edge_outbox_depth_events)", "short", "timeseries"),
        ("Oldest undelivered event", P, "max by (instance) (alpr_edge_outbox_oldest_age_seconds)", "s",
         "timeseries"),
        ("Outbox drops (per s)", P, "sum by (policy) (rate(alpr_edge_outbox_dropped_total[5m]))", "short",
         "timeseries"),
        ("Uploads pending", P, "max by (instance) (alpr_edge_uploads_pending)", "short", "timeseries"),
        ("Uploads by result (per s)", P, "sum by (result) (rate(alpr_edge_uploads_total[5m]))", "short",
         "timeseries"),
        ("Kafka connected", P, "min by (instance) (alpr_edge_kafka_connected)", "bool", "stat"),
        ("Object store reachable", P, "min by (instance) (alpr_edge_object_store_up)", "bool", "stat"),
        ("Cameras online", P, "sum by (camera) (alpr_edge_camera_up)", "bool", "stat"),
        ("Camera reconnects (per min)", P, "sum by (camera) (rate(alpr_edge_camera_reconnects_total[5m])) * 60",
         "short", "timeseries"),
        ("Frames dropped (per s)", P, "sum by (camera) (rate(alpr_edge_camera_frames_dropped_total[5m]))",
         "short", "timeseries"),
        ("Delivery failures (per s)", P, "sum by (error) (rate(alpr_edge_delivery_failures_total[5m]))",
         "short", "timeseries"),
    ]),
    "alpr-kafka-db": ("Kafka & Database", [
        ("Consumer lag", P, "sum by (consumer, topic) (alpr_consumer_lag_records)", "short", "timeseries"),
        ("Consumed per s", P, "sum by (consumer) (rate(alpr_consumer_records_consumed_total[5m]))", "short",
         "timeseries"),
        ("Written per s", P, "sum by (consumer) (rate(alpr_consumer_records_written_total[5m]))", "short",
         "timeseries"),
        ("DLQ per s by error type", P, "sum by (consumer, error_type) (rate(alpr_consumer_dlq_records_total[5m]))",
         "short", "timeseries"),
        ("Batch latency p95", P,
         "histogram_quantile(0.95, sum by (le, consumer) (rate(alpr_consumer_batch_latency_seconds_bucket[5m])))",
         "s", "timeseries"),
        ("Retries and timeouts per min", P,
         "sum by (consumer) (rate(alpr_consumer_batch_retries_total[5m]) * 60)", "short", "timeseries"),
        ("Stored events per hour, last 24 h", S,
         "SELECT date_trunc('hour', captured_at) AS time, count(*) AS events FROM plate_events "
         "WHERE captured_at > now() - interval '24 hours' GROUP BY 1 ORDER BY 1", "short", "timeseries"),
        ("DLQ messages by error type", S,
         "SELECT error_type, count(*) AS messages, count(replayed_at) AS replayed FROM dlq_messages "
         "GROUP BY error_type ORDER BY messages DESC", "short", "table"),
    ]),
    "alpr-search": ("Search", [
        ("Indexing rate (docs/s)", P, 'sum(rate(alpr_consumer_records_written_total{consumer="search"}[5m]))',
         "short", "timeseries"),
        ("Bulk latency p95", P,
         "histogram_quantile(0.95, sum by (le) "
         '(rate(alpr_consumer_batch_latency_seconds_bucket{consumer="search"}[5m])))',
         "s", "timeseries"),
        ("Indexing lag", P, 'sum by (topic) (alpr_consumer_lag_records{consumer="search"})', "short",
         "timeseries"),
        ("API latency p95 by route", P,
         "histogram_quantile(0.95, sum by (le, route) (rate(alpr_api_request_duration_seconds_bucket[5m])))", "s",
         "timeseries"),
        ("API requests by status (per s)", P, "sum by (status) (rate(alpr_api_requests_total[5m]))", "short",
         "timeseries"),
    ]),
    "alpr-logs": ("Logs Explorer", [
        ("Log lines by level (per s)", L, 'sum by (level) (rate({service=~".+"} [5m]))', "short", "timeseries"),
        ("Errors", L, '{service=~".+"} |= "ERROR"', "short", "logs"),
        ("All service logs", L, '{service=~"$service"}', "short", "logs"),
    ]),
}


def _target(ds: str, query: str, panel_type: str) -> dict[str, Any]:
    if ds == S:
        fmt = "time_series" if panel_type == "timeseries" else "table"
        return {"refId": "A", "datasource": {"type": "grafana-postgresql-datasource", "uid": S},
                "rawSql": query, "format": fmt, "rawQuery": True, "editorMode": "code"}
    kind = "prometheus" if ds == P else "loki"
    return {"refId": "A", "datasource": {"type": kind, "uid": ds}, "expr": query}


def panel(idx: int, spec: tuple[str, str, str, str, str]) -> dict[str, Any]:
    title, ds, query, unit, ptype = spec
    kind = {"prometheus": "prometheus", "loki": "loki", "postgres": "grafana-postgresql-datasource"}[ds]
    return {"id": idx + 1, "title": title, "type": ptype, "datasource": {"type": kind, "uid": ds},
            "gridPos": {"x": (idx % 2) * 12, "y": (idx // 2) * 8, "w": 12, "h": 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": {},
            "targets": [_target(ds, query, ptype)]}


def dashboard(uid: str, title: str, panels: list[tuple[str, str, str, str, str]]) -> dict[str, Any]:
    templating: list[dict[str, Any]] = []
    if uid == "alpr-logs":
        templating.append({"name": "service", "type": "query", "datasource": {"type": "loki", "uid": L},
                           "query": "label_values(service)", "includeAll": True, "multi": True,
                           "current": {"text": "All", "value": "$__all"}, "allValue": ".+"})
    return {"uid": uid, "title": title, "tags": ["alpr"], "timezone": "browser", "schemaVersion": 39,
            "version": 1, "editable": True, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": templating}, "panels": [panel(i, s) for i, s in enumerate(panels)]}


def render() -> dict[str, str]:
    return {f"{uid}.json": json.dumps(dashboard(uid, title, panels), indent=2) + "\n"
            for uid, (title, panels) in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the JSON files are stale")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [n for n, text in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != text]
        if stale:
            print(f"stale dashboards: {', '.join(stale)}; run python scripts/gen_dashboards.py", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(files)} dashboards to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
