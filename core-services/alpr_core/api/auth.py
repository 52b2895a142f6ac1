"""API keys: random secrets, stored as sha256 hex, roles viewer < admin, cached after verification."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from .db import fetch_row

logger = logging.getLogger(__name__)

ROLES = ("viewer", "admin")
KEY_PREFIX = "alpr_"
_ROLE_RANK = {"viewer": 1, "admin": 2}
_MAX_CACHE = 10_000


def hash_key(secret: str) -> str:
    """sha256 hex of the secret: keys are 256-bit random tokens, so a fast hash is safe to store."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def role_allows(role: str, needed: str) -> bool:
    return _ROLE_RANK.get(role, 0) >= _ROLE_RANK[needed]


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: str


class KeyStore:
    """Verifies presented keys against api_keys; remembers answers (good and bad) for ``ttl_s``."""

    def __init__(self, pool: AsyncConnectionPool, ttl_s: float):
        self.pool = pool
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def verify(self, secret: str) -> Principal | None:
        digest = hash_key(secret)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = await fetch_row(
            self.pool,
            "UPDATE api_keys SET last_used_at = now() WHERE key_hash = %s AND revoked_at IS NULL "
            "RETURNING id, name, role",
            (digest,),
        )
        principal = Principal(key_id=row[0], name=row[1], role=row[2]) if row else None
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[digest] = (now + self.ttl_s, principal)
        return principal


async def create_key(pool: AsyncConnectionPool, name: str, role: str) -> tuple[int, str]:
    """Insert a new key; returns (id, secret). The secret is shown once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    secret = new_secret()
    row = await fetch_row(
        pool,
        "INSERT INTO api_keys (name, key_hash, role) VALUES (%s, %s, %s) RETURNING id",
        (name, hash_key(secret), role),
    )
    assert row is not None
    return int(row[0]), secret
