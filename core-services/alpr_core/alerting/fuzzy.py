"""OCR-aware fuzzy matching: a weighted edit distance and a deletion-neighbourhood index over it.

Substituting characters OCR confuses (O/0, I/1, B/8, S/5, Z/2, G/6, D/0) costs less than any other
edit. Candidates are found without scanning every entry: strings are *folded* (each confusable
mapped to one representative, so confusable substitutions vanish), and every folded entry and its
deletions up to ``k`` characters are indexed (SymSpell). Any entry within ``k`` non-confusable edits
of the query shares a key with one of the query's deletions; survivors are checked with rapidfuzz's
Levenshtein distance and then the exact weighted distance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from .config import FuzzySettings


@dataclass(frozen=True)
class EditResult:
    cost: float
    operations: tuple[str, ...]


class ConfusableCosts:
    """Costs of the weighted distance and the folding map derived from the confusable pairs."""

    def __init__(self, settings: FuzzySettings | None = None):
        s = settings or FuzzySettings()
        self.confusable_cost = s.confusable_cost
        self.substitution_cost = s.substitution_cost
        self.indel_cost = s.indel_cost
        self.pairs = {frozenset(p) for p in s.confusables}
        self._fold = _fold_table(s.confusables)

    def is_confusable(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self.pairs

    def sub_cost(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        return self.confusable_cost if self.is_confusable(a, b) else self.substitution_cost

    def fold(self, text: str) -> str:
        return text.translate(self._fold)

    def max_plain_edits(self, max_cost: float) -> int:
        """Non-confusable edits that fit in ``max_cost`` (the folded-distance bound of the prefilter)."""
        return math.floor(max_cost / min(self.substitution_cost, self.indel_cost) + 1e-9)


def _fold_table(pairs: Iterable[str]) -> dict[int, int]:
    """Union-find over the pairs; every member maps to the smallest character of its group."""
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            c = parent[c]
        return c

    for pair in pairs:
        ra, rb = find(pair[0]), find(pair[1])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {ord(c): ord(find(c)) for c in parent}


def weighted_distance(candidate: str, entry: str, costs: ConfusableCosts) -> EditResult:
    """Weighted Levenshtein distance from ``candidate`` to ``entry`` with the operations that realise it.

    Operations read like ``sub Z->2 @4 (confusable)``, ``del X @3``, ``ins 7 @2``; positions are
    0-based indices into the candidate.
    """
    n, m = len(candidate), len(entry)
    ind = costs.indel_cost
    d = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        d[i][0] = i * ind
    for j in range(1, m + 1):
        d[0][j] = j * ind
    for i in range(1, n + 1):
        a = candidate[i - 1]
        row, prev = d[i], d[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + costs.sub_cost(a, entry[j - 1]), prev[j] + ind, row[j - 1] + ind)
    return EditResult(round(d[n][m], 6), tuple(_backtrace(d, candidate, entry, costs)))


def _backtrace(d: list[list[float]], cand: str, entry: str, costs: ConfusableCosts) -> list[str]:
    ops: list[str] = []
    i, j = len(cand), len(entry)
    while i > 0 or j > 0:
        if (
            i > 0
            and j > 0
            and math.isclose(d[i][j], d[i - 1][j - 1] + costs.sub_cost(cand[i - 1], entry[j - 1]))
        ):
            a, b = cand[i - 1], entry[j - 1]
            if a != b:
                kind = " (confusable)" if costs.is_confusable(a, b) else ""
                ops.append(f"sub {a}->{b} @{i - 1}{kind}")
            i, j = i - 1, j - 1
        elif i > 0 and math.isclose(d[i][j], d[i - 1][j] + costs.indel_cost):
            ops.append(f"del {cand[i - 1]} @{i - 1}")
            i -= 1
        else:
            ops.append(f"ins {entry[j - 1]} @{i}")
            j -= 1
    ops.reverse()
    return ops


def deletions(text: str, k: int) -> set[str]:
    """``text`` and every string obtained by deleting up to ``k`` of its characters."""
    out = {text}
    frontier = {text}
    for _ in range(min(k, len(text))):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


@lru_cache(maxsize=8192)
def _query_keys(folded: str, k: int) -> frozenset[str]:
    """Deletion keys of a query; cached because every index of every rule asks for the same ones."""
    return frozenset(deletions(folded, k))


class FuzzyIndex:
    """Entries (strings) findable within a weighted cost; ``max_edits`` bounds the deletion index.

    Queries needing more plain edits than the index holds fall back to a rapidfuzz scan.
    """

    def __init__(self, costs: ConfusableCosts, max_edits: int = 2):
        self.costs = costs
        self.max_edits = max_edits
        self._keys: dict[str, set[str]] = {}
        self._entries: dict[str, str] = {}  # entry -> folded entry

    def add(self, entry: str) -> None:
        if entry in self._entries:
            return
        folded = self._entries[entry] = self.costs.fold(entry)
        for key in deletions(folded, self.max_edits):
            self._keys.setdefault(key, set()).add(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, max_cost: float) -> list[tuple[str, EditResult]]:
        """Entries within ``max_cost`` of ``query``, cheapest first."""
        k = self.costs.max_plain_edits(max_cost)
        folded = self.costs.fold(query)
        if k > self.max_edits:
            pool: Iterable[str] = self._entries
        else:
            keys = self._keys
            pool = {e for key in _query_keys(folded, k) if key in keys for e in keys[key]}
        hits = []
        for entry in pool:
            if Levenshtein.distance(folded, self._entries[entry], score_cutoff=k) > k:
                continue
            result = weighted_distance(query, entry, self.costs)
            if result.cost <= max_cost + 1e-9:
                hits.append((entry, result))
        hits.sort(key=lambda h: (h[1].cost, h[0]))
        return hits
