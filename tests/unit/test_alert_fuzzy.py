"""Weighted edit distance with OCR confusables, folding, and the deletion-neighbourhood index."""

from __future__ import annotations

import random
import string

import pytest

from alpr_core.alerting.config import FuzzySettings
from alpr_core.alerting.fuzzy import ConfusableCosts, FuzzyIndex, deletions, weighted_distance

COSTS = ConfusableCosts()


@pytest.mark.parametrize(
    ("candidate", "entry", "cost", "ops"),
    [
        ("ABC123", "ABC123", 0.0, ()),
        ("ABC1Z3", "ABC123", 0.25, ("sub Z->2 @4 (confusable)",)),
        ("A8C123", "ABC123", 0.25, ("sub 8->B @1 (confusable)",)),
        ("0BC1S3", "OBC153", 0.5, ("sub 0->O @0 (confusable)", "sub S->5 @4 (confusable)")),
        ("D12345", "012345", 0.25, ("sub D->0 @0 (confusable)",)),
        ("ABC1X3", "ABC123", 1.0, ("sub X->2 @4",)),
        ("AB123", "ABC123", 1.0, ("ins C @2",)),
        ("ABXC123", "ABC123", 1.0, ("del X @2",)),
        ("XYZ789", "ABC123", 6.0, None),
    ],
)
def test_weighted_distance(candidate: str, entry: str, cost: float, ops: tuple[str, ...] | None) -> None:
    result = weighted_distance(candidate, entry, COSTS)
    assert result.cost == pytest.approx(cost)
    if ops is not None:
        assert result.operations == ops


def test_non_listed_pairs_are_full_substitutions() -> None:
    # D and O both fold to 0, but D<->O is not a listed confusable pair.
    assert weighted_distance("DBC123", "OBC123", COSTS).cost == pytest.approx(1.0)


def test_costs_are_configurable() -> None:
    costs = ConfusableCosts(FuzzySettings(confusables=["Q0"], confusable_cost=0.1))
    assert weighted_distance("ABCQ", "ABC0", costs).cost == pytest.approx(0.1)
    assert weighted_distance("ABCO", "ABC0", costs).cost == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "k", "expected"),
    [
        ("AAB", 1, {"AAB", "AA", "AB"}),
        ("ABC", 2, {"ABC", "AB", "AC", "BC", "A", "B", "C"}),
        ("A", 3, {"A", ""}),
    ],
)
def test_deletions(text: str, k: int, expected: set[str]) -> None:
    assert deletions(text, k) == expected


@pytest.mark.parametrize("max_cost", [0.25, 0.5, 1.0, 2.0, 3.0])
def test_index_finds_exactly_what_a_full_scan_finds(max_cost: float) -> None:
    rng = random.Random(7)
    alphabet = string.ascii_uppercase[:8] + "0125689OISZGD"
    entries = {"".join(rng.choice(alphabet) for _ in range(rng.randint(5, 7))) for _ in range(400)}
    index = FuzzyIndex(COSTS, max_edits=2)
    for e in entries:
        index.add(e)
    for _ in range(25):
        base = rng.choice(sorted(entries))
        chars = list(base)
        chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        query = "".join(chars)
        expected = sorted(e for e in entries if weighted_distance(query, e, COSTS).cost <= max_cost + 1e-9)
        assert sorted(e for e, _ in index.search(query, max_cost)) == expected


def test_search_is_cheapest_first() -> None:
    index = FuzzyIndex(COSTS)
    for e in ("ABC123", "ABC12", "ABX123"):
        index.add(e)
    hits = index.search("ABC1Z3", 1.5)
    assert [(e, r.cost) for e, r in hits] == [("ABC123", 0.25), ("ABC12", 1.25), ("ABX123", 1.25)]
    assert [e for e, _ in index.search("ABC1Z3", 1.0)] == ["ABC123"]
