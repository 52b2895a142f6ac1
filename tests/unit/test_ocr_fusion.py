"""Second-opinion OCR: the choice rule (table-driven) and the PP-OCR helpers on synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.config import EdgeConfig
from alpr_edge.ocr import build_second_opinion
from alpr_edge.ocr.fusion import choose_read, needs_second_opinion
from alpr_edge.ocr.ppocr import PLATE_ALPHABET, ctc_greedy, plate_groups, plate_table, text_lines
from alpr_edge.types import OcrResult, PlateCandidate


def ocr(text: str, conf: float, region: str | None = None) -> OcrResult:
    return OcrResult(text=text, confidence=conf, char_confidences=tuple(conf for _ in text),
                     candidates=(PlateCandidate(text, conf),) if text else (), region=region)


@pytest.mark.parametrize(
    ("primary", "other", "below", "expected"),
    [
        (ocr("TNP2222", 0.04, "us"), ocr("TNP222", 0.6), 0.3, "TNP222"),   # unsure, other more confident
        (ocr("TNP2222", 0.04, "us"), ocr("TNP222", 0.03), 0.3, "TNP2222"),  # other even less confident
        (ocr("ABC1234", 0.9, "br"), ocr("ABC1284", 0.99), 0.3, "ABC1234"),  # confident: never replaced
        (ocr("ABC1234", 0.2), ocr("", 0.0), 0.3, "ABC1234"),               # other read nothing
        (ocr("ABC1234", 0.29), ocr("ABC1284", 0.5), 0.3, "ABC1284"),        # just below the threshold
        (ocr("ABC1234", 0.3), ocr("ABC1284", 0.5), 0.3, "ABC1234"),         # at the threshold: kept
        (ocr("ABC1234", 0.1), ocr("ABC1284", 0.5), 0.0, "ABC1234"),         # threshold 0: off
        (ocr("", 0.0), ocr("XYZ12", 0.4), 0.3, "XYZ12"),                    # primary empty
    ],
)
def test_choose_read(primary, other, below, expected):
    chosen = choose_read(primary, other, below)
    assert chosen.text == expected
    assert needs_second_opinion(primary, below) == (primary.confidence < below)
    if chosen is not primary:
        assert chosen.region is None
        assert [c.text for c in chosen.candidates][:1] == [other.text]


def test_choose_read_merges_candidates():
    primary = OcrResult("TNP2222", 0.04, candidates=(PlateCandidate("TNP2222", 0.04), PlateCandidate("TNP222", 0.02),
                                                     PlateCandidate("TNP2Z22", 0.01)))
    chosen = choose_read(primary, ocr("TNP222", 0.7), 0.3)
    assert [c.text for c in chosen.candidates] == ["TNP222", "TNP2222", "TNP2Z22"]


def test_plate_groups_and_table():
    chars = ["<blank>", "a", "A", "1", "中", "-", " "]
    groups = plate_groups(chars)
    assert groups[PLATE_ALPHABET.index("A")] == [1, 2] and groups[PLATE_ALPHABET.index("1")] == [3]
    assert groups[PLATE_ALPHABET.index("Z")] == []
    probs = np.array([[0.1, 0.2, 0.3, 0.0, 0.4, 0.0, 0.0]], np.float32)
    table = plate_table(probs, groups)
    assert table.shape == (1, 37)
    assert table[0, 1 + PLATE_ALPHABET.index("A")] == pytest.approx(0.5)
    assert table[0, 0] == pytest.approx(0.5)  # blank + the Chinese character: separator


@pytest.mark.parametrize(
    ("steps", "text"),
    [("A-B", "AB"), ("AA-B", "AB"), ("A-A", "AA"), ("--", ""), ("1-11-2", "112"), ("ZZZ", "Z")],
)
def test_ctc_greedy(steps, text):
    table = np.zeros((len(steps), 37), np.float32)
    for t, ch in enumerate(steps):
        table[t, 0 if ch == "-" else 1 + PLATE_ALPHABET.index(ch)] = 0.9
        table[t, 1 + PLATE_ALPHABET.index("Q")] = 0.1
    result = ctc_greedy(table)
    assert result.text == text
    assert len(result.char_confidences) == len(text)
    assert result.confidence == pytest.approx(0.9 ** len(text) if text else 0.0)


def test_text_lines_finds_the_boxes():
    prob = np.zeros((40, 80), np.float32)
    prob[5:9, 10:70] = 0.9    # thin line (state name)
    prob[15:30, 8:72] = 0.95  # tall line (registration)
    prob[35:37, 2:4] = 0.4    # weak blob: dropped
    lines = text_lines(prob, 2.0, 2.0)
    assert len(lines) == 2
    tallest = max(lines, key=lambda line: line[0][3] - line[0][1])[0]
    assert tallest[1] < 30 < 60 < tallest[3] and tallest[0] < 16 < 144 < tallest[2]


def test_second_opinion_off():
    cfg = EdgeConfig()
    assert build_second_opinion(cfg.model_copy(update={"ocr": cfg.ocr.model_copy(update={"second_opinion": "none"})})) \
        is None
