"""The psycopg 3 async pool and small query helpers (SQL text is constant; values are always bound)."""

from __future__ import annotations

import logging
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from alpr_common.settings import DatabaseSettings

logger = logging.getLogger(__name__)


async def _configure(conn: AsyncConnection[Any]) -> None:
    # Timestamps leave the database as UTC ISO-8601 whatever the server's TimeZone is.
    await conn.execute("SET TimeZone = 'UTC'")
    await conn.commit()


def make_pool(settings: DatabaseSettings, statement_timeout_s: float) -> AsyncConnectionPool:
    """An unopened pool; ``await pool.open()`` in the application lifespan."""
    conninfo = settings.conninfo() + f" options='-c statement_timeout={int(statement_timeout_s * 1000)}'"
    return AsyncConnectionPool(
        conninfo,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        open=False,
        kwargs={"autocommit": True},
        configure=_configure,
        timeout=settings.connect_timeout_s,
        name="alpr-api",
    )


async def fetch_all(pool: AsyncConnectionPool, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return await cur.fetchall()


async def fetch_one(pool: AsyncConnectionPool, sql: str, params: Any = ()) -> dict[str, Any] | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return await cur.fetchone()


async def fetch_row(pool: AsyncConnectionPool, sql: str, params: Any = ()) -> tuple[Any, ...] | None:
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(sql, params)
        return await cur.fetchone()
