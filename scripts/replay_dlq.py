#!/usr/bin/env python3
"""Re-publish dead letters from dlq_messages to their original topic and mark them replayed.

    scripts/replay_dlq.py --since 2h --error-type ValidationError          # pending ones only
    scripts/replay_dlq.py --since 2026-11-22T06:00:00Z --topic alpr.events.plates --dry-run
    scripts/replay_dlq.py --id 42 --id 43 --include-replayed

Each message goes out with its original key, value bytes and headers (the dlq.* headers are replaced
by ``dlq.replayed.from.id``); a row is marked (replayed_at, replay_count + 1) only after Kafka
acknowledged its message. Fix the cause first (code, config, or the stored payload), then replay.
Exit status: 0 all replayed, 1 some failed, 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from confluent_kafka import Producer

import _bootstrap  # noqa: F401
from alpr_common.config import add_config_args, load_or_exit
from alpr_core.config import CoreConfig
from alpr_core.runtime.dlq import DLQ_HEADERS

logger = logging.getLogger("replay_dlq")
RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``30m``/``2h``/``7d`` ago, or an ISO 8601 time (UTC when no offset is given)."""
    match = RELATIVE.match(text.strip())
    if match:
        return (now or datetime.now(timezone.utc)) - timedelta(**{UNITS[match[2]]: int(match[1])})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--since {text!r}: use 30m, 2h, 7d or an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def select_sql(args: argparse.Namespace) -> tuple[str, list[Any]]:
    where, params = [], []
    if args.since:
        where.append("received_at >= %s")
        params.append(args.since)
    if args.error_type:
        where.append("error_type = %s")
        params.append(args.error_type)
    if args.topic:
        where.append("original_topic = %s")
        params.append(args.topic)
    if args.id:
        where.append("id = ANY(%s)")
        params.append(args.id)
    if not args.include_replayed:
        where.append("replayed_at IS NULL")
    sql = (
        "SELECT id, original_topic, message_key, payload, headers, error_type FROM dlq_messages"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY id LIMIT %s"
    )
    return sql, [*params, args.limit]


def replay(
    conn: psycopg.Connection[Any], producer: Any, rows: list[tuple[Any, ...]], timeout_s: float
) -> int:
    """Produce each row, wait for acknowledgements, mark the acknowledged rows. Returns failures."""
    acked: list[int] = []
    failed: list[str] = []
    for row_id, topic, key, payload, headers, _ in rows:
        kept = [(k, str(v).encode()) for k, v in (headers or {}).items() if k not in DLQ_HEADERS]

        def on_delivery(err: Any, msg: Any, row_id: int = row_id) -> None:
            (failed.append(f"{row_id}: {err}") if err else acked.append(row_id))

        producer.produce(
            topic,
            value=bytes(payload) if payload is not None else None,
            key=bytes(key) if key is not None else None,
            headers=[*kept, ("dlq.replayed.from.id", str(row_id).encode())],
            on_delivery=on_delivery,
        )
    producer.flush(timeout_s)
    if acked:
        conn.execute(
            "UPDATE dlq_messages SET replayed_at = now(), replay_count = replay_count + 1 WHERE id = ANY(%s)",
            (acked,),
        )
        conn.commit()
    for line in failed:
        logger.error("not replayed: %s", line)
    return len(rows) - len(acked)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_args(parser)
    parser.add_argument("--since", type=parse_since, help="received at or after: 30m, 2h, 7d or ISO 8601")
    parser.add_argument(
        "--error-type", help="only this error type (e.g. ValidationError, DeserializationError)"
    )
    parser.add_argument("--topic", help="only messages whose original topic is this")
    parser.add_argument("--id", type=int, action="append", help="only this dlq_messages id (repeatable)")
    parser.add_argument(
        "--limit", type=int, default=10_000, help="at most this many messages (default 10000)"
    )
    parser.add_argument("--include-replayed", action="store_true", help="also messages replayed before")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed, send nothing")
    args = parser.parse_args(argv)
    if not (args.since or args.id or args.error_type or args.topic):
        parser.error("select messages with at least one of --since, --error-type, --topic, --id")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    cfg = load_or_exit(CoreConfig, args)
    sql, params = select_sql(args)
    with psycopg.connect(cfg.database.conninfo()) as conn:
        rows = conn.execute(sql, params).fetchall()
        for row_id, topic, _, payload, _, error_type in rows:
            logger.info(
                "%s #%d %s -> %s (%d bytes)",
                "would replay" if args.dry_run else "replaying",
                row_id,
                error_type,
                topic,
                len(payload or b""),
            )
        if args.dry_run or not rows:
            logger.info("%d message(s) selected%s", len(rows), " (dry run)" if args.dry_run else "")
            return 0
        producer = Producer({**cfg.kafka.client_config(), "enable.idempotence": True, "acks": "all"})
        failed = replay(conn, producer, rows, timeout_s=30.0)
    logger.info("replayed %d of %d message(s)", len(rows) - failed, len(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
