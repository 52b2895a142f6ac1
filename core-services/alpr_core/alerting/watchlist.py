"""Watchlist entries and an index that finds the entries matching a plate in (near) constant time.

exact entries live in a dict, prefix and suffix entries in tries (the suffix trie on reversed text),
contains entries in a dict probed with every substring of the plate, regex entries in a short list,
fuzzy entries in a :class:`~.fuzzy.FuzzyIndex`. Expired entries are skipped at lookup time, so an
entry stops matching the moment its ``expires_at`` passes, between database refreshes too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .fuzzy import ConfusableCosts, FuzzyIndex

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def normalize_plate(text: str) -> str:
    """Upper-case alphanumerics only: the form events carry in plate.normalized_text."""
    return _NOT_ALNUM.sub("", text.upper())


@dataclass(frozen=True)
class WatchEntry:
    """One watched plate pattern. ``core`` is the normalised pattern without its wildcards."""

    pattern: str
    match_type: str
    core: str
    list_name: str = "inline"
    entry_id: int | None = None
    reason: str | None = None
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def make_entry(pattern: str, match: str | None = None, default: str = "exact", **meta: object) -> WatchEntry:
    """Build an entry; without ``match``, '*' sets the type: 'ABC*' prefix, '*123' suffix, '*X*' contains,
    'A*9' a glob (regex anchored at both ends); no '*' means ``default``."""
    raw = pattern.strip()
    if match == "regex":
        try:
            re.compile(raw)
        except re.error as exc:
            raise ValueError(f"invalid regex {raw!r}: {exc}") from None
        return WatchEntry(pattern=raw, match_type="regex", core=raw, **meta)  # type: ignore[arg-type]
    stripped = raw.strip("*")
    if match is None and "*" in raw:
        if "*" in stripped:
            glob = "^" + fnmatch.translate(normalize_plate_glob(raw))
            return WatchEntry(pattern=raw, match_type="regex", core=glob, **meta)  # type: ignore[arg-type]
        starts, ends = raw.startswith("*"), raw.endswith("*")
        match = "contains" if starts and ends else "prefix" if ends else "suffix"
    return WatchEntry(pattern=raw, match_type=match or default, core=normalize_plate(stripped), **meta)  # type: ignore[arg-type]


def normalize_plate_glob(pattern: str) -> str:
    return "*".join(normalize_plate(part) for part in pattern.split("*"))


@dataclass(frozen=True)
class Hit:
    entry: WatchEntry
    candidate: str
    match_type: str
    operations: tuple[str, ...] = ()
    score: float = 0.0


class _Affixes:
    """Prefix (or suffix) entries by length: a plate is looked up once per distinct entry length."""

    def __init__(self) -> None:
        self._by_length: dict[int, dict[str, list[WatchEntry]]] = {}

    def add(self, key: str, entry: WatchEntry) -> None:
        self._by_length.setdefault(len(key), {}).setdefault(key, []).append(entry)

    def __bool__(self) -> bool:
        return bool(self._by_length)

    def find(self, text: str, cut: Callable[[str, int], str]) -> list[WatchEntry]:
        """Entries whose key is ``cut(text, len(key))`` (the prefix or the suffix of that length)."""
        found: list[WatchEntry] = []
        for n, keys in self._by_length.items():
            if n <= len(text):
                found.extend(keys.get(cut(text, n), ()))
        return found


class WatchlistIndex:
    """All entries of one or more lists; :meth:`lookup` returns the best hit for a set of candidates."""

    def __init__(self, entries: Sequence[WatchEntry], costs: ConfusableCosts, fuzzy_max_edits: int = 2):
        self.size = len(entries)
        self._exact: dict[str, list[WatchEntry]] = {}
        self._prefix, self._suffix = _Affixes(), _Affixes()
        self._contains: dict[str, list[WatchEntry]] = {}
        self._regex: list[tuple[re.Pattern[str], WatchEntry]] = []
        self._fuzzy = FuzzyIndex(costs, fuzzy_max_edits)
        self._fuzzy_entries: dict[str, list[WatchEntry]] = {}
        for entry in entries:
            self._add(entry)

    def _add(self, e: WatchEntry) -> None:
        adders: dict[str, Callable[[], None]] = {
            "exact": lambda: self._exact.setdefault(e.core, []).append(e),
            "prefix": lambda: self._prefix.add(e.core, e),
            "suffix": lambda: self._suffix.add(e.core, e),
            "contains": lambda: self._contains.setdefault(e.core, []).append(e),
            "regex": lambda: self._regex.append((re.compile(e.core), e)),
            "fuzzy": lambda: self._add_fuzzy(e),
        }
        adders[e.match_type]()

    def _add_fuzzy(self, e: WatchEntry) -> None:
        self._fuzzy.add(e.core)
        self._fuzzy_entries.setdefault(e.core, []).append(e)

    def lookup(self, candidates: Sequence[str], now: datetime, max_cost: float = 1.0) -> Hit | None:
        """Best hit: a wildcard-free match of the earliest candidate, else the cheapest fuzzy one."""
        for cand in candidates:
            hit = self._plain(cand, now)
            if hit is not None:
                return hit
        return self._best_fuzzy(candidates, now, max_cost)

    def _plain(self, cand: str, now: datetime) -> Hit | None:
        groups: list[tuple[str, list[WatchEntry]]] = []
        if self._exact:
            groups.append(("exact", self._exact.get(cand, [])))
        if self._prefix:
            groups.append(("prefix", self._prefix.find(cand, lambda text, n: text[:n])))
        if self._suffix:
            groups.append(("suffix", self._suffix.find(cand, lambda text, n: text[len(text) - n :])))
        if self._contains:
            subs = {cand[i:j] for i in range(len(cand)) for j in range(i, len(cand) + 1)}
            groups.append(("contains", [e for s in subs for e in self._contains.get(s, ())]))
        if self._regex:
            groups.append(("regex", [e for rx, e in self._regex if rx.search(cand)]))
        for kind, entries in groups:
            for entry in entries:
                if entry.active(now):
                    return Hit(entry=entry, candidate=cand, match_type=kind)
        return None

    def _best_fuzzy(self, candidates: Sequence[str], now: datetime, max_cost: float) -> Hit | None:
        if not len(self._fuzzy):
            return None
        best: Hit | None = None
        for cand in candidates:
            for core, result in self._fuzzy.search(cand, max_cost):
                if best is not None and result.cost >= best.score:
                    break
                entry = next((e for e in self._fuzzy_entries[core] if e.active(now)), None)
                if entry is not None:
                    best = Hit(entry, cand, "fuzzy", result.operations, result.cost)
                    break
        return best
