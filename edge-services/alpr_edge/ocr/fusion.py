"""Combining the plate OCR's read with a second recogniser's read of the same plate.

Measured on the dev sets (docs/benchmarks.md, "Accuracy"): the second opinion (PP-OCRv4 on the tallest
text line) only helps where the plate model itself is unsure. Per-character fusion, product-of-experts
rescoring of both models' candidates and choosing by confidence on every plate all lost more US reads
(PP-OCR confuses ``1``/``I``, ``Y``/``V``, ``L``/``1`` on small US plates) than they gained, so the rule is:
ask the second recogniser only when the first read's confidence is below a threshold, and take its read
only when it is non-empty and more confident.
"""

from __future__ import annotations

from dataclasses import replace

from ..types import OcrResult


def needs_second_opinion(primary: OcrResult, below: float) -> bool:
    """Whether ``primary`` is unsure enough (confidence < ``below``) to ask another recogniser."""
    return primary.confidence < below


def choose_read(primary: OcrResult, other: OcrResult, below: float) -> OcrResult:
    """``other`` when ``primary`` is below ``below`` and ``other`` is a non-empty, more confident read.

    The chosen read keeps the other read's candidates first, then the primary's (duplicates dropped), so
    the primary's top-N list survives; it has no region (no format prior was applied to it).
    """
    if not needs_second_opinion(primary, below) or not other.text or other.confidence <= primary.confidence:
        return primary
    seen = {c.text for c in other.candidates}
    candidates = other.candidates + tuple(c for c in primary.candidates if c.text not in seen)
    return replace(other, candidates=candidates, region=None)
