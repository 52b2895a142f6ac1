#!/usr/bin/env python3
"""Benchmark of the query API: N events in PostgreSQL, wrk against /events/plate/{plate} and /events/recent.

Uses a separate database (default ``alpr_bench``, created through the local stack's superuser socket
when missing, schema from scripts/init_db.sql) so the tests' data stay untouched. Loads the events with
COPY (progress lines), starts one uvicorn worker (``alpr-api``), runs wrk (a separate process; Debian
package ``wrk``, installed by scripts/system_deps.sh, which this script runs when wrk is missing) for a
few rounds per endpoint and reports medians. The last line is
``plate_rps=.. plate_p95_ms=.. recent_rps=.. recent_p95_ms=..`` followed by the CPU milliseconds per
1,000 requests (medians of the rounds, from /proc) of the API server (uvicorn and its workers) and of
the whole PostgreSQL server: ``plate_api_cpu_ms_per_1k=.. plate_pg_cpu_ms_per_1k=..
recent_api_cpu_ms_per_1k=.. recent_pg_cpu_ms_per_1k=..``.

    .venv/bin/python scripts/benchmark_api.py --events 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg

from _cpu import CpuMeter, cpu_keys, median_costs, pid_group, stack_groups

ROOT = Path(__file__).resolve().parent.parent
SOCKET_DIR = ROOT / ".stack" / "postgres" / "run"
CAMERA_PREFIX = "bench-api-"
WRK_LUA = r"""
local plates, headers = {}, {}
function init(args)
  headers["X-API-Key"] = args[1]
  headers["X-Reason"] = "benchmark"
  if args[2] ~= nil then for line in io.lines(args[2]) do plates[#plates + 1] = line end end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
function request()
  if #plates > 0 then
    return wrk.format("GET", "/events/plate/" .. plates[math.random(#plates)], headers)
  end
  return wrk.format("GET", wrk.path, headers)
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("RESULT %d %.6f %.3f %.3f %d\n", summary.requests, summary.duration / 1e6,
                         latency:percentile(95) / 1000, latency:percentile(50) / 1000, bad))
end
"""


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def dsn(args: argparse.Namespace, dbname: str | None = None) -> str:
    return (
        f"host={args.host} port={args.port} dbname={dbname or args.dbname} user=alpr "
        f"password={os.environ.get('ALPR_DATABASE__PASSWORD', 'alpr')}"
    )


def ensure_database(args: argparse.Namespace) -> None:
    with psycopg.connect(dsn(args, "alpr_db"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.dbname,)).fetchone()
    if not exists:
        log(f"creating database {args.dbname} (superuser socket {SOCKET_DIR})")
        with psycopg.connect(
            host=str(SOCKET_DIR), port=args.port, dbname="postgres", user="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{args.dbname}" OWNER alpr')
        with psycopg.connect(
            host=str(SOCKET_DIR), port=args.port, dbname=args.dbname, user="postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with psycopg.connect(dsn(args), autocommit=True) as conn:
        conn.execute((ROOT / "scripts" / "init_db.sql").read_text())


def plate_pool(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    letters, digits = string.ascii_uppercase, string.digits
    out: set[str] = set()
    while len(out) < n:
        out.add(
            "".join(rnd.choice(letters) for _ in range(3)) + "".join(rnd.choice(digits) for _ in range(4))
        )
    return sorted(out)


def load_events(args: argparse.Namespace, plates: list[str]) -> None:
    with psycopg.connect(dsn(args), autocommit=True) as conn:
        have = conn.execute(
            "SELECT count(*) FROM plate_events WHERE camera_id LIKE %s", (CAMERA_PREFIX + "%",)
        ).fetchone()[0]  # type: ignore[index]
        if have >= args.events:
            log(f"{have} benchmark events already loaded")
            return
        log(f"{have} benchmark events present; loading {args.events - have} with COPY")
        rnd = random.Random(7)
        now = datetime.now(timezone.utc)
        cols = (
            "event_id, captured_at, created_at, published_at, camera_id, site, host, plate_text, "
            "plate_normalized_text, plate_confidence, plate_region, vehicle_type, latency_ms, "
            "plate_image_url, read_count, matches_format"
        )
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY plate_events ({cols}) FROM STDIN") as copy:
            lines = []
            for i in range(have, args.events):
                plate = plates[rnd.randrange(len(plates))]
                ts = now - timedelta(seconds=(args.events - i) * 2.0)
                iso = ts.isoformat()
                lines.append(
                    f"{uuid.uuid4()}\t{iso}\t{iso}\t{iso}\t{CAMERA_PREFIX}{i % 50:02d}\tbench-site\t"
                    f"bench-host\t{plate}\t{plate}\t{rnd.uniform(0.6, 1.0):.3f}\tbench\tcar\t"
                    f"{rnd.uniform(50, 400):.1f}\ts3://alpr-plate-images/bench/{i}.jpg\t3\tt\n"
                )
                if len(lines) == 10_000:
                    copy.write("".join(lines))
                    lines.clear()
                if (i + 1) % 100_000 == 0:
                    log(f"  {i + 1:>9} rows sent ({(i + 1 - have) / (time.perf_counter() - start):,.0f}/s)")
            copy.write("".join(lines))
        log(f"COPY done in {time.perf_counter() - start:.1f}s; ANALYZE")
        conn.execute("ANALYZE plate_events")


def api_key(args: argparse.Namespace) -> str:
    out = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "alpr-api"),
            "keys",
            "create",
            "--name",
            "benchmark",
            "--role",
            "viewer",
        ],
        env=api_env(args),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)["key"]


def api_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "ALPR_DATABASE__DBNAME": args.dbname,
        "ALPR_DATABASE__PORT": str(args.port),
        "ALPR_API__PORT": str(args.api_port),
        "ALPR_API__WORKERS": "1",
        "ALPR_LOGGING__LEVEL": "WARNING",
        "ALPR_DATABASE__POOL_MAX_SIZE": str(args.pool),
    }


def start_api(args: argparse.Namespace) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "alpr-api")],
        env=api_env(args),
        stdout=subprocess.DEVNULL,
        stderr=open(args.api_log, "wb"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{args.api_port}/health", timeout=2).status_code in (200, 503):
                log(f"alpr-api up (pid {proc.pid}, one worker, port {args.api_port})")
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"alpr-api did not start; see {args.api_log}")


def ensure_wrk() -> None:
    """wrk comes with scripts/system_deps.sh (Debian package ``wrk``); run it when wrk is missing."""
    if shutil.which("wrk") is not None:
        return
    log("wrk not found: running scripts/system_deps.sh (installs the Debian package wrk)")
    res = subprocess.run(["bash", str(ROOT / "scripts" / "system_deps.sh")], check=False)
    if res.returncode != 0 or shutil.which("wrk") is None:
        raise SystemExit(
            "wrk not found and scripts/system_deps.sh could not install it; install it as root: "
            "sudo bash scripts/system_deps.sh (or: sudo apt-get install wrk)"
        )


def wrk(
    args: argparse.Namespace, path: str, lua: str, key: str, plates_file: str | None
) -> tuple[float, float]:
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "-s",
        lua,
        f"http://127.0.0.1:{args.api_port}{path}",
        "--",
        key,
    ] + ([plates_file] if plates_file else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.startswith("RESULT")]
    reqs = sum(int(r[1]) for r in rows)
    secs = max(float(r[2]) for r in rows)
    p95 = max(float(r[3]) for r in rows)
    bad = sum(int(r[5]) for r in rows)
    if bad:
        log(f"  warning: {bad} failed/non-2xx responses")
    return reqs / secs, p95


def bench(
    args: argparse.Namespace, name: str, path: str, lua: str, key: str, plates_file: str | None
) -> tuple[float, float, dict[str, float]]:
    """``args.rounds`` wrk rounds after a warm-up: median req/s, p95 ms and CPU ms per 1,000 requests."""
    wrk(args, path, lua, key, plates_file)  # warm-up (prepared statements, caches)
    meter = CpuMeter([pid_group("api", lambda: args.api_pid), *stack_groups("pg")])
    rps_all, p95_all, costs = [], [], []
    for i in range(args.rounds):
        before, start = meter.snapshot(), time.perf_counter()
        rps, p95 = wrk(args, path, lua, key, plates_file)
        costs.append(meter.snapshot().delta_ms_per_1k(before, rps * (time.perf_counter() - start)))
        rps_all.append(rps)
        p95_all.append(p95)
        log(
            f"  {name} round {i + 1}: {rps:,.0f} req/s, p95 {p95:.2f} ms; CPU per request: "
            f"API {costs[-1]['api'] / 1000:.2f} ms, PostgreSQL {costs[-1]['pg'] / 1000:.2f} ms; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    return statistics.median(rps_all), statistics.median(p95_all), median_costs(costs)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--plates", type=int, default=200_000, help="distinct plates among the events")
    ap.add_argument("--dbname", default="alpr_bench")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5432)
    ap.add_argument("--api-port", type=int, default=8799)
    ap.add_argument("--pool", type=int, default=8, help="database pool size of the API")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads")
    ap.add_argument("--connections", type=int, default=8, help="wrk connections")
    ap.add_argument("--recent-limit", type=int, default=20)
    ap.add_argument("--api-log", default=str(Path(tempfile.gettempdir()) / "alpr_api_bench.log"))
    return ap.parse_args()


def main() -> int:
    args = parse_args()
    ensure_wrk()
    ensure_database(args)
    plates = plate_pool(args.plates, seed=11)
    load_events(args, plates)
    key = api_key(args)
    proc = start_api(args)
    args.api_pid = proc.pid
    try:
        with tempfile.TemporaryDirectory() as tmp:
            lua, plates_file = Path(tmp) / "bench.lua", Path(tmp) / "plates.txt"
            lua.write_text(WRK_LUA)
            plates_file.write_text("\n".join(plates[:20_000]) + "\n")
            log(
                f"wrk: {args.threads} thread(s), {args.connections} connections, {args.duration}s x "
                f"{args.rounds} rounds per endpoint (medians; the 2 CPU cores are shared with other work)"
            )
            plate_rps, plate_p95, plate_cpu = bench(
                args, "plate", "/events/plate/X", str(lua), key, str(plates_file)
            )
            recent_rps, recent_p95, recent_cpu = bench(
                args, "recent", f"/events/recent?limit={args.recent_limit}", str(lua), key, None
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(
        f"plate_rps={plate_rps:.0f} plate_p95_ms={plate_p95:.2f} recent_rps={recent_rps:.0f} "
        f"recent_p95_ms={recent_p95:.2f} {cpu_keys('plate', plate_cpu)} {cpu_keys('recent', recent_cpu)}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
