"""The key dashboard panels return series from a real Prometheus that scrapes the running services:
pilot.py on the shared video (:8001), the storage consumer (:8002) and the query API (:8000)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", ROOT.parent / "shared"))
VIDEO = SHARED / "data" / "video" / "parkpow_cars.mp4"
KEY_PANELS = {
    "edge fps": "sum by (camera) (alpr_edge_camera_fps)",
    "edge stage latency": "sum by (stage) (alpr_edge_stage_latency_seconds_count)",
    "edge outbox depth": "max by (instance) (alpr_edge_outbox_depth_events)",
    "camera up": "sum by (camera) (alpr_edge_camera_up)",
    "storage consumed": 'sum by (consumer) (alpr_consumer_records_consumed_total{consumer="storage"})',
    "consumer lag": "sum by (consumer, topic) (alpr_consumer_lag_records)",
    "api requests": "sum by (status) (alpr_api_requests_total)",
}


def _start(args: list[str], tmp_path: Path, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _series(prometheus_url: str, expr: str) -> int:
    body = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", body
    return len(body["data"]["result"])


def test_key_panels_return_series(prometheus_url: str, kafka_bootstrap: str, pg_dsn: str,
                                  tmp_path: Path) -> None:
    if not VIDEO.exists():
        pytest.skip(f"{VIDEO} missing")
    env = {**os.environ, "ALPR_MODEL_DIR": str(SHARED / "models"),
           "ALPR_OUTBOX__PATH": str(tmp_path / "ob.db"),
           "ALPR_IMAGES__LOCAL_DIR": str(tmp_path / "crops"),
           "ALPR_IMAGES__SPOOL_DIR": str(tmp_path / "spool")}
    bin_dir = Path(sys.executable).parent
    procs = [
        _start([sys.executable, "pilot.py", "--source", str(VIDEO), "--no-display",
                "--output", str(tmp_path / "reads.csv")], tmp_path, "pilot", env),
        _start([str(bin_dir / "alpr-storage-consumer")], tmp_path, "storage", env),
        _start([str(bin_dir / "alpr-api"), "serve"], tmp_path, "api", env),
    ]
    missing = dict(KEY_PANELS)
    try:
        deadline = time.monotonic() + 120
        while missing and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get("http://127.0.0.1:8000/health", timeout=2)  # API traffic for its panels
            missing = {name: expr for name, expr in missing.items() if _series(prometheus_url, expr) == 0}
            time.sleep(3)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    logs = {p.stem: p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*.log")}
    assert not missing, f"panels without series: {sorted(missing)}; logs: {logs}"
