"""Where rules and watchlists come from, and the provider that rebuilds the engine when they change.

* :class:`RulesFile`: ``alerting.lists`` and ``alerting.rules`` of config/alert_rules.yaml, re-read when
  the file's mtime/size changes. An invalid edit is logged and the previous rules stay in force.
* :class:`DbWatchlists`: enabled, unexpired rows of the ``watchlists`` table, by ``list_name``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from .config import RuleSet
from .fuzzy import ConfusableCosts
from .metrics import AlertMetrics
from .rules import RuleEngine, compile_rules
from .watchlist import WatchEntry, make_entry

logger = logging.getLogger(__name__)

WATCHLIST_SQL = """
SELECT id, plate_pattern, match_type, list_name, reason, expires_at
FROM watchlists
WHERE enabled AND (expires_at IS NULL OR expires_at > now())
"""


class RulesFile:
    def __init__(self, path: Path | None):
        self.path = path
        self._stamp: tuple[float, int] | None = None

    def _current_stamp(self) -> tuple[float, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime, st.st_size

    def poll(self) -> RuleSet | None:
        """The new rule set when the file changed and is valid, else None."""
        stamp = self._current_stamp()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        assert self.path is not None
        try:
            data: Any = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
            section = (data.get("alerting") or {}) if isinstance(data, dict) else {}
            return RuleSet.model_validate({k: section[k] for k in ("lists", "rules") if k in section})
        except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
            logger.error("rules file %s not reloaded, keeping the previous rules: %s", self.path, exc)
            return None


class WatchlistSource(Protocol):
    def load(self) -> Mapping[str, Sequence[WatchEntry]]: ...


class DbWatchlists:
    """Reads the watchlists table (psycopg); one short connection per refresh."""

    def __init__(self, conninfo: str):
        self._conninfo = conninfo

    def load(self) -> dict[str, list[WatchEntry]]:
        import psycopg

        lists: dict[str, list[WatchEntry]] = {}
        with psycopg.connect(self._conninfo) as conn, conn.cursor() as cur:
            cur.execute(WATCHLIST_SQL)
            for entry_id, pattern, match_type, list_name, reason, expires_at in cur.fetchall():
                try:
                    entry = make_entry(
                        pattern,
                        match_type,
                        list_name=list_name,
                        entry_id=entry_id,
                        reason=reason,
                        expires_at=expires_at,
                    )
                except ValueError as exc:
                    logger.warning("watchlist row %s (%r) skipped: %s", entry_id, pattern, exc)
                    continue
                lists.setdefault(list_name, []).append(entry)
        return lists


class RuleProvider:
    """Holds the current :class:`RuleEngine`; ``refresh`` rebuilds it when the file or the table changed."""

    def __init__(
        self,
        initial: RuleSet,
        costs: ConfusableCosts,
        rules_file: RulesFile | None = None,
        watchlists: WatchlistSource | None = None,
        reload_interval_s: float = 5.0,
        watchlist_refresh_s: float = 30.0,
        metrics: AlertMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._ruleset = initial
        self._costs = costs
        self._file = rules_file
        self._db = watchlists
        self._reload_s, self._refresh_s = reload_interval_s, watchlist_refresh_s
        self._metrics = metrics
        self._clock = clock
        self._db_lists: Mapping[str, Sequence[WatchEntry]] = {}
        self._file_at = self._db_at = clock()
        if self._file is not None:
            self._file.poll()  # remember the stamp of the file the initial rules came from
        self._load_db()
        self.engine = compile_rules(initial, self._db_lists, costs)

    def _load_db(self) -> bool:
        if self._db is None:
            return False
        try:
            lists = self._db.load()
        except Exception as exc:  # the database may be briefly away: keep the lists we have
            logger.warning("watchlists not refreshed (keeping %d lists): %s", len(self._db_lists), exc)
            return False
        changed = lists != self._db_lists
        self._db_lists = lists
        return changed

    def refresh(self) -> RuleEngine:
        now = self._clock()
        changed = False
        if self._file is not None and now - self._file_at >= self._reload_s:
            self._file_at = now
            new = self._file.poll()
            if new is not None:
                logger.info("rules file changed: %d rules", len(new.rules))
                self._ruleset, changed = new, True
        if self._db is not None and now - self._db_at >= self._refresh_s:
            self._db_at = now
            changed = self._load_db() or changed
        if changed:
            self.engine = compile_rules(self._ruleset, self._db_lists, self._costs)
            if self._metrics is not None:
                self._metrics.rules_loaded.labels("ok").inc()
        return self.engine
