"""Slot-probability decoding, beam top-N candidates and region priors (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.ocr.base import beam_candidates, decode_slots
from alpr_edge.ocr.formats import apply_region

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


@pytest.mark.parametrize(
    ("slots", "region", "text", "read_as"),
    [
        # O vs 0 and I vs 1 resolved by the Brazilian pattern LLLNNNN
        ([{"A": .9}, {"B": .9}, {"0": .6, "O": .4}, {"1": .9}, {"2": .9}, {"O": .6, "0": .4}, {"4": .9}],
         "br", "ABO1204", "br"),
        ([{"A": .9}, {"B": .9}, {"0": .6, "O": .4}, {"1": .9}, {"2": .9}, {"O": .6, "0": .4}, {"4": .9}],
         "auto", "ABO1204", "br"),
        # Mercosul LLLNLNN
        ([{"R": .9}, {"I": .9}, {"O": .9}, {"2": .9}, {"A": .6, "4": .4}, {"1": .9}, {"8": .9}],
         "br", "RIO2A18", "br"),
        # a Californian 7ABC123 is not forced into a Brazilian pattern; O becomes 0 (us prior)
        ([{"7": .95}, {"A": .9}, {"B": .9}, {"C": .9}, {"1": .9}, {"O": .9}, {"3": .9}],
         "auto", "7ABC103", "us"),
        ([{"A": .9}, {"O": .9}, {"1": .9}], "us", "A01", "us"),
        ([{"A": .9}, {"O": .9}, {"1": .9}], "none", "AO1", None),
    ],
)
def test_region_priors(slots, region, text, read_as):
    reg = apply_region(table(slots), region, ALPHABET, "_")
    assert decode_slots(reg.probs, ALPHABET, "_", 3).text == text
    assert reg.region == read_as
