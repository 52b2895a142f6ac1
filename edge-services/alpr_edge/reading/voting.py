"""Multi-frame consensus: character-level voting over a track's OCR reads, weighted by confidence.

Reads are grouped by length (after normalisation to A-Z0-9); the length with the most confidence wins,
then each position votes with the per-character confidences of the reads of that length. A read that is a
part of a longer read (a plate half hidden by the car in front, or cut by the image edge, reads as its
visible characters: ``A23126`` of ``34A23126``) counts for the longer read's length: it does not contradict
it. At most :data:`MAX_MISSING_CHARS` may be missing, and the part must have :data:`MIN_PART_CHARS`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..types import OcrResult

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
MIN_PART_CHARS = 4
MAX_MISSING_CHARS = 3


def normalize_plate(text: str) -> str:
    return _NOT_ALNUM.sub("", text.upper())


@dataclass(frozen=True)
class VoteResult:
    text: str
    confidence: float  # mean voted-char confidence, scaled by the winning length's share of the weight
    char_confidences: tuple[float, ...]
    char_scores: tuple[dict[str, float], ...]  # per position: char -> summed confidence / reads voting
    support: int  # reads whose text equals ``text``
    read_count: int
    other_texts: tuple[tuple[str, float], ...] = ()  # reads of other lengths: (text, weight share)
    length_share: float = 0.0  # share of the read weight that had the winning length

    def score(self, text: str) -> float:
        """Mean confidence-weighted vote of ``text``'s characters (0 for another length).

        Swapping a character the reads were sure of costs much; swapping an unsure one costs little.
        """
        if len(text) != len(self.char_scores) or not text:
            return 0.0
        return sum(p.get(c, 0.0) for c, p in zip(text, self.char_scores, strict=True)) / len(text)


EMPTY_VOTE = VoteResult("", 0.0, (), (), 0, 0)


def _char_weights(read: OcrResult, text: str) -> list[float]:
    confs = read.char_confidences
    if len(confs) >= len(text) and len(normalize_plate(read.text)) == len(read.text):
        return [max(float(c), 1e-3) for c in confs[: len(text)]]
    return [max(float(read.confidence), 1e-3)] * len(text)


def _counted_length(text: str, texts: set[str]) -> int:
    """The length ``text`` counts for: the longest read it is a part of (within the limits), else its own."""
    if len(text) < MIN_PART_CHARS:
        return len(text)
    longer = [len(t) for t in texts if len(text) < len(t) <= len(text) + MAX_MISSING_CHARS and text in t]
    return max(longer, default=len(text))


def vote(reads: Sequence[OcrResult]) -> VoteResult:
    texts = [(normalize_plate(r.text), r) for r in reads]
    texts = [(t, r) for t, r in texts if t]
    if not texts:
        return EMPTY_VOTE
    by_length: dict[int, float] = defaultdict(float)
    distinct = {t for t, _ in texts}
    counted = [_counted_length(t, distinct) for t, _ in texts]
    for (_, read), n in zip(texts, counted, strict=True):
        by_length[n] += max(float(read.confidence), 1e-3)
    total = sum(by_length.values())
    length = max(by_length, key=lambda n: (by_length[n], n))
    group = [(t, r) for t, r in texts if len(t) == length]
    sums: list[dict[str, float]] = [defaultdict(float) for _ in range(length)]
    for text, read in group:
        for i, (char, weight) in enumerate(zip(text, _char_weights(read, text), strict=True)):
            sums[i][char] += weight
    scores = tuple({c: w / len(group) for c, w in pos.items()} for pos in sums)
    voted = "".join(max(pos, key=lambda c: (pos[c], c)) for pos in sums)
    char_conf = tuple(scores[i][c] for i, c in enumerate(voted))
    share = by_length[length] / total
    others: dict[str, float] = defaultdict(float)
    for (text, read), n in zip(texts, counted, strict=True):
        if n != length:
            others[text] += max(float(read.confidence), 1e-3) / total
    return VoteResult(text=voted, confidence=share * sum(char_conf) / length, char_confidences=char_conf,
                      char_scores=scores, support=sum(1 for t, _ in group if t == voted),
                      read_count=len(texts),
                      other_texts=tuple(sorted(others.items(), key=lambda kv: -kv[1])), length_share=share)
