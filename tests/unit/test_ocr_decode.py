"""Slot-probability decoding and beam top-N candidates (no models; format priors: test_plate_formats.py)."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.ocr.base import beam_candidates, decode_slots

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"


def table(slots: list[dict[str, float]], n_slots: int = 9) -> np.ndarray:
    """Probability table: each slot a {char: p} dict (rest spread evenly); missing slots are padding."""
    probs = np.zeros((n_slots, len(ALPHABET)))
    for i in range(n_slots):
        spec = slots[i] if i < len(slots) else {"_": 1.0}
        rest = (1.0 - sum(spec.values())) / (len(ALPHABET) - len(spec))
        probs[i] = rest
        for ch, p in spec.items():
            probs[i, ALPHABET.index(ch)] = p
    return probs


def test_decode_greedy_text_and_char_confidences():
    res = decode_slots(table([{"A": 0.9}, {"B": 0.8}, {"1": 0.7}]), ALPHABET, "_", 5)
    assert res.text == "AB1"
    assert res.char_confidences == pytest.approx((0.9, 0.8, 0.7))
    assert res.candidates[0].text == "AB1"
    assert 0 < res.confidence <= 0.9 * 0.8 * 0.7 + 1e-9


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ([{"A": 0.9}, {"8": 0.6, "B": 0.4}], ["A8", "AB"]),
        ([{"A": 0.5, "4": 0.4}, {"1": 0.99}], ["A1", "41"]),
        ([{"A": 0.99}, {"Z": 0.7, "2": 0.3}, {"C": 0.99}], ["AZC", "A2C"]),
    ],
)
def test_beam_candidates_rank_alternatives(slots, expected):
    cands = beam_candidates(table(slots), ALPHABET, "_", top_n=len(expected))
    assert [c.text for c in cands] == expected
    assert cands[0].confidence >= cands[1].confidence


def test_beam_merges_texts_that_differ_only_by_padding():
    probs = table([{"A": 0.99}, {"_": 0.5, "B": 0.45}, {"B": 0.5, "_": 0.45}])
    cands = beam_candidates(probs, ALPHABET, "_", top_n=3)
    assert cands[0].text == "AB"  # A_B + AB_ merged beat A__ and ABB
    assert len({c.text for c in cands}) == len(cands)


def test_top_n_limit():
    assert len(beam_candidates(table([{"A": 0.4}, {"B": 0.4}, {"C": 0.4}]), ALPHABET, "_", top_n=4)) == 4
