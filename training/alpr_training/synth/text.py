"""Plate texts from layout patterns, with the recogniser's confusable characters oversampled."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIGITS = "0123456789"
# Pairs real reads confuse: O/0, I/1, B/8, S/5, Z/2, E/F, E/3, D/0 (and G/6, Q/0 nearby).
CONFUSABLE_LETTERS = "OIBSZEFDGQ"
CONFUSABLE_DIGITS = "0185236"
SEPARATORS = " -·"


@dataclass(frozen=True)
class PlateText:
    """What to draw (rows with separators) and the label (``[0-9A-Z]`` only)."""

    rows: tuple[str, ...]
    label: str


def _char(kind: str, letters: str, rng: np.random.Generator, confusable_p: float) -> str:
    if kind == "A":
        kind = "L" if rng.random() < 0.5 else "D"
    if kind == "L":
        pool = "".join(c for c in CONFUSABLE_LETTERS if c in letters)
        source = pool if pool and rng.random() < confusable_p else letters
    else:
        source = CONFUSABLE_DIGITS if rng.random() < confusable_p else DIGITS
    return source[int(rng.integers(len(source)))]


def generate_text(patterns: list[str], letters: str, rng: np.random.Generator,
                  confusable_p: float = 0.35) -> PlateText:
    """A random plate text for one of ``patterns``; each L/D is a confusable one with ``confusable_p``."""
    pattern = patterns[int(rng.integers(len(patterns)))]
    drawn = "".join(_char(c, letters, rng, confusable_p) if c in "LDA" else c for c in pattern)
    label = "".join(c for c in drawn if c not in SEPARATORS + "|")
    return PlateText(tuple(drawn.split("|")), label)
