"""The training/validation split rule: keyed on the plate text only, deterministic, about 70/30."""

from __future__ import annotations

import pytest

from alpr_training.splits import VALIDATION_PERCENT, in_split, normalize_plate, select, split_of

# Pinned outcomes: a change of the rule (salt, hash, threshold) would silently leak photos between splits.
PINNED = [("AYO9034", "validation"), ("YG9X2G", "training"), ("ABC1234", "training")]


@pytest.mark.parametrize(("raw", "same_as"), [("ayo-9034", "AYO9034"), ("AYO 9034", "AYO9034"),
                                              ("yg9x2g", "YG9X2G"), ("YG·9X·2G", "YG9X2G")])
def test_split_ignores_case_and_separators(raw, same_as):
    assert normalize_plate(raw) == same_as
    assert split_of(raw) == split_of(same_as)


def test_split_is_deterministic_and_pinned():
    assert [split_of(p) for p, _ in PINNED] == [s for _, s in PINNED]
    assert {split_of(f"PLATE{i}") for i in range(50)} == {"training", "validation"}


def test_no_plate_in_both_splits_and_ratio():
    plates = [f"{a}{b}{i:04d}" for a in "ABCDEFGH" for b in "XYZQ" for i in range(0, 1000, 37)]
    training, validation = select(plates, "training"), select(plates, "validation")
    assert not set(training) & set(validation)
    assert sorted(training + validation) == sorted(plates)
    share = len(validation) / len(plates)
    assert abs(share - VALIDATION_PERCENT / 100) < 0.05, share


@pytest.mark.parametrize(("split", "expected"), [("all", True), ("training", None), ("validation", None)])
def test_in_split(split, expected):
    plate = "KLM4321"
    want = expected if expected is not None else split_of(plate) == split
    assert in_split(plate, split) is want


def test_unknown_split_is_an_error():
    with pytest.raises(ValueError, match="unknown split"):
        in_split("ABC123", "test")
