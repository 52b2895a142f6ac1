#!/usr/bin/env python3
"""Apply scripts/init_db.sql to the database of config/services.yaml (ALPR_DATABASE__* overrides). Idempotent.

The local stack applies it on every `scripts/stack up`; docker compose runs it in the `db-init`
one-shot. Use this against any other PostgreSQL/TimescaleDB, e.g. after changing the schema file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import psycopg
import yaml

import _bootstrap  # noqa: F401
from alpr_common.settings import DatabaseSettings

logger = logging.getLogger("init_db")
ROOT = Path(__file__).resolve().parent.parent
SQL_FILE = ROOT / "scripts" / "init_db.sql"
CONFIG = ROOT / "config" / "services.yaml"


def database_settings(config: Path) -> DatabaseSettings:
    """The `database:` section of services.yaml, overridden by ALPR_DATABASE__<FIELD> variables."""
    doc = (yaml.safe_load(config.read_text()) or {}) if config.is_file() else {}
    values = dict(doc.get("database") or {})
    for name in DatabaseSettings.model_fields:
        env = os.environ.get(f"ALPR_DATABASE__{name.upper()}")
        if env is not None:
            values[name] = env
    return DatabaseSettings(**values)


def apply(conninfo: str, sql: str) -> None:
    """Run the whole script in one transaction (simple query protocol: no parameters)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(sql)
        conn.commit()
        ts = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    logger.info("schema applied (%s)", f"TimescaleDB {ts[0]}" if ts else "plain PostgreSQL")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG, help="services YAML (default: %(default)s)")
    parser.add_argument("--dsn", help="libpq connection string; overrides --config")
    parser.add_argument("--file", type=Path, default=SQL_FILE, help="SQL file (default: %(default)s)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="S",
                        help="keep retrying the connection for up to S seconds")
    args = parser.parse_args(argv)
    db = database_settings(args.config)
    conninfo = args.dsn or db.conninfo()
    where = "--dsn" if args.dsn else f"{db.host}:{db.port}/{db.dbname}"
    sql = args.file.read_text()
    deadline = time.monotonic() + args.wait
    while True:
        try:
            apply(conninfo, sql)
            return 0
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                logger.error("cannot apply %s to %s: %s", args.file, where, exc)
                return 1
            time.sleep(1)
        except psycopg.Error as exc:
            logger.error("applying %s failed: %s", args.file, exc)
            return 1


if __name__ == "__main__":
    sys.exit(main())
