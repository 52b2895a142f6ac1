"""Every SQL question of docs/metabase.md runs against PostgreSQL with loaded data and returns rows."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "metabase.md"
QUESTIONS = re.findall(r"### (.+?)\n\n```sql\n(.+?)```", DOC.read_text(), re.S)


@pytest.fixture
def loaded(pg_conn):
    """Three days of events for two plates on two cameras (rolled back after the test)."""
    now = datetime.now(timezone.utc)
    camera = f"mb-{uuid.uuid4().hex[:8]}"
    rows = [(str(uuid.uuid4()), now - timedelta(days=d, hours=h), camera, plate, 0.9 - 0.1 * h, 100.0 + h)
            for d in range(3) for h in range(2) for plate in ("MB1TEST", "MB2TEST")]
    with pg_conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO plate_events (event_id, captured_at, camera_id, plate_text, plate_normalized_text,"
            " plate_confidence, latency_ms, read_count, matches_format, quality_score)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, 3, true, 0.7)",
            [(e, t, c, p, p, conf, lat) for e, t, c, p, conf, lat in rows])
    yield camera
    pg_conn.rollback()


def test_the_doc_has_the_four_required_questions() -> None:
    titles = " ".join(t.lower() for t, _ in QUESTIONS)
    for needed in ("executive", "per-camera", "quality", "peak hours"):
        assert needed in titles


@pytest.mark.parametrize(("title", "sql"), QUESTIONS, ids=[t for t, _ in QUESTIONS])
def test_question_runs_and_returns_rows(pg_conn, loaded: str, title: str, sql: str) -> None:
    with pg_conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    assert rows, f"{title}: no rows on loaded data"
    if "Repeat visitors" in title:
        assert {"MB1TEST", "MB2TEST"} <= {r[0] for r in rows}
