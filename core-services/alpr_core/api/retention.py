"""One retention limit (api.retention.days) applied to the table, the indices and the crop bucket.

- plate_events / alerts: TimescaleDB retention policy when the extension is there, else batched DELETEs.
- OpenSearch: monthly indices ``<prefix>-YYYY.MM`` wholly older than the cutoff are deleted; documents
  older than the cutoff in the remaining boundary month are removed with delete_by_query.
- MinIO: a lifecycle rule (id ``alpr-retention``) expiring every object after the same number of days.
Run daily (``alpr-api retention apply``); it is idempotent.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

from ..config import CoreConfig

logger = logging.getLogger(__name__)

RULE_ID = "alpr-retention"
_DELETE_BATCH = 50_000


def cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) - timedelta(days=days)


def expired_indices(names: list[str], prefix: str, limit: datetime) -> list[str]:
    """Monthly indices whose whole month ends before ``limit``."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d{{4}})\.(\d{{2}})$")
    out = []
    for name in names:
        m = pattern.match(name)
        if not m:
            continue
        year, month = int(m.group(1)), int(m.group(2))
        month_end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
        if month_end <= limit:
            out.append(name)
    return sorted(out)


def apply_table(cfg: CoreConfig, days: int, dry_run: bool) -> dict[str, Any]:
    limit = cutoff(days)
    with psycopg.connect(cfg.database.conninfo(), autocommit=True) as conn:
        timescale = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        if dry_run:
            old = conn.execute(
                "SELECT count(*) FROM plate_events WHERE captured_at < %s", (limit,)
            ).fetchone()
            return {"timescaledb": bool(timescale), "rows_older": old[0] if old else 0}
        deleted = 0
        if timescale:  # chunks are one day: the policy and drop_chunks honour the limit to the day
            conn.execute("SELECT remove_retention_policy('plate_events', if_exists => true)")
            conn.execute("SELECT add_retention_policy('plate_events', %s::interval)", (f"{days} days",))
            conn.execute("SELECT drop_chunks('plate_events', older_than => %s)", (limit,))
        while (
            not timescale
        ):  # plain PostgreSQL (and rows Timescale has not dropped yet): batches keep locks short
            cur = conn.execute(
                "DELETE FROM plate_events WHERE ctid = ANY(ARRAY(SELECT ctid FROM plate_events "
                "WHERE captured_at < %s LIMIT %s))",
                (limit, _DELETE_BATCH),
            )
            deleted += cur.rowcount
            if cur.rowcount < _DELETE_BATCH:
                break
        alerts = conn.execute("DELETE FROM alerts WHERE created_at < %s", (limit,)).rowcount
    return {"timescaledb": bool(timescale), "deleted_events": deleted, "deleted_alerts": alerts}


def apply_indices(cfg: CoreConfig, days: int, dry_run: bool) -> dict[str, Any]:
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[cfg.search.url], verify_certs=cfg.search.verify_certs, timeout=30)
    limit = cutoff(days)
    prefix = cfg.search.index_prefix
    names = list(client.indices.get(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True))
    doomed = expired_indices(names, prefix, limit)
    result: dict[str, Any] = {"deleted_indices": doomed, "deleted_docs": 0}
    if dry_run:
        return result
    for name in doomed:
        client.indices.delete(index=name)
    rest = [n for n in names if n not in doomed]
    if rest:
        resp = client.delete_by_query(
            index=",".join(rest),
            conflicts="proceed",
            refresh=True,
            body={"query": {"range": {"captured_at": {"lt": limit.isoformat()}}}},
        )
        result["deleted_docs"] = resp.get("deleted", 0)
    return result


def apply_bucket(cfg: CoreConfig, days: int, dry_run: bool) -> dict[str, Any]:
    from minio import Minio
    from minio.commonconfig import ENABLED, Filter
    from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

    store = cfg.object_store
    client = Minio(
        store.endpoint,
        access_key=store.access_key.get_secret_value(),
        secret_key=store.secret_key.get_secret_value(),
        secure=store.secure,
        region=store.region,
    )
    current = client.get_bucket_lifecycle(store.bucket)
    rules = [r for r in (current.rules if current else []) if r.rule_id != RULE_ID]
    rules.append(
        Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id=RULE_ID, expiration=Expiration(days=days))
    )
    if not dry_run:
        client.set_bucket_lifecycle(store.bucket, LifecycleConfig(rules))
    return {"bucket": store.bucket, "rule": RULE_ID, "expiration_days": days}


def apply(cfg: CoreConfig, dry_run: bool = False) -> dict[str, Any]:
    """Apply the configured retention everywhere it is enabled; returns what was done per store."""
    ret = cfg.api.retention
    report: dict[str, Any] = {"days": ret.days, "cutoff": cutoff(ret.days).isoformat(), "dry_run": dry_run}
    if cfg.search_index.retention_days != ret.days:
        report["warning"] = (
            f"search_index.retention_days={cfg.search_index.retention_days} (the search-consumer's "
            f"ISM policy) differs from api.retention.days={ret.days}; set both (RETENTION_DAYS)"
        )
        logger.warning(report["warning"])
    steps = (
        ("table", ret.apply_table, apply_table),
        ("indices", ret.apply_indices, apply_indices),
        ("bucket", ret.apply_bucket, apply_bucket),
    )
    for name, enabled, step in steps:
        if not enabled:
            report[name] = "disabled"
            continue
        try:
            report[name] = step(cfg, ret.days, dry_run)
        except Exception as exc:
            logger.error("retention step %s failed: %s", name, exc)
            report[name] = {"error": f"{exc.__class__.__name__}: {exc}"[:300]}
    return report
