"""Character-level voting over a track's reads (table-driven)."""

from __future__ import annotations

import pytest

from alpr_edge.reading.voting import normalize_plate, vote
from alpr_edge.types import OcrResult


def read(text: str, conf: float = 0.9, chars: tuple[float, ...] | None = None) -> OcrResult:
    return OcrResult(text, conf, chars if chars is not None else tuple([conf] * len(text)))


@pytest.mark.parametrize(("name", "reads", "text", "support"), [
    ("unanimous", [read("ABC1234")] * 3, "ABC1234", 3),
    ("majority per character", [read("ABC1234"), read("ABC1Z34"), read("A8C1234")], "ABC1234", 1),
    ("confident read beats two weak ones",
     [read("ABC1234", 0.95), read("ABD1234", 0.2), read("ABD1234", 0.2)], "ABC1234", 1),
    ("per-char confidence decides a position",
     [read("ABC1234", 0.8, (0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9)), read("ABO1234", 0.8, (0.9,) * 7)],
     "ABO1234", 1),
    ("length with most weight wins", [read("ABC1234"), read("ABC123"), read("ABC1234"), read("BC1234", 0.5)],
     "ABC1234", 2),
    ("separators and case ignored", [read("abc-123"), read("ABC 123")], "ABC123", 2),
    ("empty reads ignored", [read(""), read("XYZ9")], "XYZ9", 1),
    ("a part of a longer read supports it", [read("A23126", 0.99), read("34A23126", 0.89)], "34A23126", 1),
    ("a part at the end", [read("34A231", 0.99), read("34A23126", 0.5)], "34A23126", 1),
    ("a part missing too much counts for itself", [read("A231", 0.99), read("34A23126", 0.5)], "A231", 1),
    ("a read too short to be a part", [read("A23", 0.99), read("A23", 0.99), read("34A23126", 0.5)], "A23", 2),
    ("no part: the heavier length wins", [read("B23126", 0.99), read("34A23126", 0.89)], "B23126", 1),
])
def test_vote(name: str, reads: list[OcrResult], text: str, support: int) -> None:
    result = vote(reads)
    assert result.text == text, name
    assert result.support == support, name
    assert 0.0 < result.confidence <= 1.0
    assert len(result.char_confidences) == len(text)


def test_vote_confidence_falls_with_disagreement() -> None:
    agree = vote([read("ABC123")] * 4)
    split = vote([read("ABC123"), read("ABC128"), read("ABC123"), read("ABC128", 0.8)])
    other_len = vote([read("ABC123"), read("XBC1234")])  # not a part of it: the lengths disagree
    assert agree.confidence == pytest.approx(0.9)
    assert split.confidence < agree.confidence
    assert other_len.confidence < 0.9 * 0.6
    assert other_len.other_texts and other_len.other_texts[0][0] in {"ABC123", "XBC1234"}
    part = vote([read("A23126", 0.99), read("34A23126", 0.89)])
    assert part.confidence == pytest.approx(0.89) and part.length_share == 1.0


def test_vote_char_scores_and_score() -> None:
    result = vote([read("AB1"), read("A81")])
    assert result.char_scores[1] == pytest.approx({"B": 0.45, "8": 0.45})
    assert result.score("AB1") == pytest.approx(result.score("A81"))
    assert result.score("AB") == 0.0


def test_no_reads() -> None:
    assert vote([]).text == "" and vote([]).read_count == 0


@pytest.mark.parametrize(("raw", "norm"), [("ab-12 3", "AB123"), ("34A-368.37", "34A36837"), ("", "")])
def test_normalize(raw: str, norm: str) -> None:
    assert normalize_plate(raw) == norm
