"""``alpr-api``: serve (default), ``keys create|list|revoke``, ``retention apply``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

import psycopg

from alpr_common.config import add_config_args, load_config, load_or_exit

from ..config import CoreConfig
from .auth import ROLES, hash_key, new_secret

logger = logging.getLogger(__name__)
CONFIG_ENV = "ALPR_API_CONFIG_PATHS"


def app_factory() -> Any:
    """uvicorn --factory target: each worker loads the same config files as the parent."""
    from .app import create_app

    paths = [p for p in os.environ.get(CONFIG_ENV, "").split(os.pathsep) if p]
    return create_app(load_config(CoreConfig, paths or None))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alpr-api", description="OVR-ALPR query API")
    add_config_args(parser)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the API with uvicorn (default)")
    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.add_argument("--role", choices=ROLES, default="viewer")
    keys.add_parser("list", help="list keys (never the secrets)")
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id", type=int)
    ret = sub.add_parser("retention", help="apply api.retention to table, indices and bucket")
    ret.add_argument("action", choices=["apply", "show"], help="show = dry run")
    return parser


def _serve(cfg: CoreConfig, args: argparse.Namespace) -> int:
    import uvicorn

    os.environ[CONFIG_ENV] = os.pathsep.join(args.config or [])
    logging.basicConfig(level=cfg.logging.level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        "alpr_core.api.cli:app_factory",
        factory=True,
        host=cfg.api.host,
        port=cfg.api.port,
        workers=cfg.api.workers,
        log_level=cfg.logging.level.lower(),
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
    return 0


def _keys(cfg: CoreConfig, args: argparse.Namespace) -> int:
    with psycopg.connect(cfg.database.conninfo(), autocommit=True) as conn:
        if args.keys_command == "create":
            secret = new_secret()
            row = conn.execute(
                "INSERT INTO api_keys (name, key_hash, role) VALUES (%s, %s, %s) RETURNING id",
                (args.name, hash_key(secret), args.role),
            ).fetchone()
            assert row is not None
            print(json.dumps({"id": row[0], "name": args.name, "role": args.role, "key": secret}))
        elif args.keys_command == "list":
            for r in conn.execute(
                "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_keys ORDER BY id"
            ):
                print(
                    json.dumps(
                        dict(
                            zip(
                                ("id", "name", "role", "created_at", "last_used_at", "revoked_at"),
                                r,
                                strict=True,
                            )
                        ),
                        default=str,
                    )
                )
        else:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (args.key_id,)
            )
            print(json.dumps({"id": args.key_id, "revoked": cur.rowcount == 1}))
            return 0 if cur.rowcount == 1 else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cfg = load_or_exit(CoreConfig, args)
    if args.command == "keys":
        return _keys(cfg, args)
    if args.command == "retention":
        from .retention import apply

        logging.basicConfig(level=cfg.logging.level)
        print(json.dumps(apply(cfg, dry_run=args.action == "show"), indent=2, default=str))
        return 0
    return _serve(cfg, args)


if __name__ == "__main__":
    sys.exit(main())
