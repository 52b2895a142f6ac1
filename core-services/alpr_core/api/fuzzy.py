"""Fuzzy plate matching: edit distance after folding characters OCR confuses (0/O/D/Q, 1/I/L, ...)."""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

OCR_FROM = "OQDILZSBG"
OCR_TO = "000112586"
_FOLD = str.maketrans(OCR_FROM, OCR_TO)


def ocr_key(plate: str) -> str:
    """The plate with confusable letters folded onto digits: 'B0O8' and '8OD8' share '8008'."""
    return plate.translate(_FOLD)


def max_distance(plate: str) -> int:
    return 1 if len(plate) <= 5 else 2


def score(query: str, candidate: str) -> tuple[int, int] | None:
    """(folded distance, raw distance) when ``candidate`` is close enough to ``query``, else None."""
    folded = Levenshtein.distance(ocr_key(query), ocr_key(candidate))
    if folded > max_distance(query):
        return None
    return folded, Levenshtein.distance(query, candidate)


def rank(query: str, candidates: list[str], limit: int = 50) -> list[str]:
    """Candidates within the edit-distance budget, closest first (the exact plate always first)."""
    scored = [(s, c) for c in candidates if (s := score(query, c)) is not None]
    scored.sort(key=lambda item: (item[0], item[1]))
    return [c for _, c in scored[:limit]]
