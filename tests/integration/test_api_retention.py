"""``alpr-api retention apply``: one limit applied to the table, the monthly indices and the bucket."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import psycopg
import pytest

from alpr_common.settings import DatabaseSettings, SearchSettings
from alpr_core.api.retention import RULE_ID, apply
from alpr_core.config import CoreConfig
from tests.integration.api_server import dsn, ensure_test_db
from tests.integration.conftest import require_port

pytestmark = pytest.mark.integration


def test_retention_applies_to_table_indices_and_bucket(minio_client: object) -> None:
    require_port(5432, "PostgreSQL")
    require_port(9200, "OpenSearch")
    dbname = ensure_test_db()
    run = uuid.uuid4().hex[:8]
    prefix = f"alpr-apitest-ret-{run}"
    now = datetime.now(timezone.utc)
    old_month = now - timedelta(days=200)
    indices = {f"{prefix}-{old_month:%Y.%m}": old_month, f"{prefix}-{now:%Y.%m}": now}
    for name, when in indices.items():
        for age in (0, 40) if when is now else (0,):
            doc = {"captured_at": (when - timedelta(days=age)).isoformat(), "camera_id": f"ret-{run}"}
            httpx.post(
                f"http://127.0.0.1:9200/{name}/_doc?refresh=true", json=doc, timeout=30
            ).raise_for_status()
    old_id, new_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(dsn(dbname), autocommit=True) as conn:
        for event_id, ts in ((old_id, now - timedelta(days=31)), (new_id, now - timedelta(days=1))):
            conn.execute(
                "INSERT INTO plate_events (event_id, captured_at, camera_id, plate_text, "
                "plate_normalized_text) VALUES (%s, %s, %s, 'RET1', 'RET1')",
                (event_id, ts, f"ret-{run}"),
            )
    cfg = CoreConfig(database=DatabaseSettings(dbname=dbname), search=SearchSettings(index_prefix=prefix))
    cfg.api.retention.days = 30
    cfg.search_index.retention_days = 30
    try:
        report = apply(cfg)
        assert "warning" not in report
        assert report["indices"]["deleted_indices"] == [f"{prefix}-{old_month:%Y.%m}"]
        current = f"{prefix}-{now:%Y.%m}"
        with psycopg.connect(dsn(dbname), autocommit=True) as conn:
            left = {
                r[0]
                for r in conn.execute(
                    "SELECT event_id FROM plate_events WHERE camera_id = %s", (f"ret-{run}",)
                )
            }
        assert left == {new_id}
        rules = minio_client.get_bucket_lifecycle(cfg.object_store.bucket).rules  # type: ignore[attr-defined]
        rule = next(r for r in rules if r.rule_id == RULE_ID)
        assert rule.expiration.days == 30
        count = httpx.get(f"http://127.0.0.1:9200/{current}/_count", timeout=30).json()["count"]
        assert count == 1  # the 40-day-old document was removed by delete_by_query
    finally:
        httpx.delete(f"http://127.0.0.1:9200/{prefix}-*", timeout=30)
        cfg.api.retention.days = 90
        from alpr_core.api.retention import apply_bucket

        apply_bucket(cfg, 90, dry_run=False)  # leave the shared bucket at the default limit
