"""Recogniser interface and decoding of per-slot probabilities into text and top-N candidates."""

from __future__ import annotations

import heapq
import logging
import math
from typing import Protocol

import numpy as np

from ..types import OcrResult, PlateCandidate

logger = logging.getLogger(__name__)


class PlateRecognizer(Protocol):
    """Reads the text of one plate crop (BGR uint8, HxWx3)."""

    def read(self, crop: np.ndarray) -> OcrResult: ...


def beam_candidates(probs: np.ndarray, alphabet: str, pad_char: str, top_n: int,
                    beam: int = 32, per_slot: int = 3) -> list[PlateCandidate]:
    """Most likely texts of a ``slots x alphabet`` probability table (slots independent).

    A beam keeps the ``beam`` best prefixes over the ``per_slot`` likeliest characters of each slot;
    texts that only differ by padding are merged (probabilities added), then the best ``top_n`` returned.
    """
    probs = np.asarray(probs, dtype=np.float64)
    beams: list[tuple[float, str]] = [(0.0, "")]
    for slot in probs:
        best = np.argsort(-slot)[:per_slot]
        logs = {int(c): math.log(max(float(slot[c]), 1e-12)) for c in best}
        grown = [(logp + logs[c], text + alphabet[c]) for logp, text in beams for c in logs]
        beams = heapq.nlargest(beam, grown)
    merged: dict[str, float] = {}
    for logp, text in beams:
        key = text.replace(pad_char, "")
        if key:
            merged[key] = merged.get(key, 0.0) + math.exp(logp)
    ranked = sorted(merged.items(), key=lambda kv: -kv[1])[:top_n]
    return [PlateCandidate(text=t, confidence=float(min(1.0, p))) for t, p in ranked]


def decode_slots(probs: np.ndarray, alphabet: str, pad_char: str, top_n: int) -> OcrResult:
    """Greedy text, per-character confidences (non-pad slots) and beam top-N candidates."""
    probs = np.asarray(probs, dtype=np.float64)
    idx = probs.argmax(axis=1)
    chars = [(alphabet[i], float(probs[s, i])) for s, i in enumerate(idx)]
    kept = [(c, p) for c, p in chars if c != pad_char]
    candidates = beam_candidates(probs, alphabet, pad_char, top_n)
    text = "".join(c for c, _ in kept)
    confidence = float(np.prod([p for _, p in chars])) if chars else 0.0
    if candidates and candidates[0].text == text:
        confidence = candidates[0].confidence
    return OcrResult(text=text, confidence=confidence, char_confidences=tuple(p for _, p in kept),
                     candidates=tuple(candidates))
