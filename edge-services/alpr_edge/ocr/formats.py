"""Region format priors applied to the slot-probability table before decoding.

* ``br``: Brazilian plates are ``LLLNNNN`` (old) or ``LLLNLNN`` (Mercosul): each slot may only hold a
  letter or a digit, so ``O``/``0``, ``I``/``1``, ``B``/``8``... are resolved by position.
* ``us``: most US states print ``O`` and ``0`` with the same glyph and avoid issuing ``O``; its
  probability is moved to ``0``.
* ``auto``: ``br`` when the plate reads as a 7-character Brazilian pattern without forcing unlikely
  characters (constrained probability >= ``AUTO_MIN_RATIO`` x unconstrained), else ``us``. (Forcing the
  commonest US serial format, NLLLNNN, the same way was measured: no gain on the US dev set, so not done.)
* ``none`` (or empty): the table is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

BR_PATTERNS = ("LLLNNNN", "LLLNLNN")
AUTO_MIN_RATIO = 0.1
REGIONS = ("auto", "br", "us", "none")


@dataclass(frozen=True)
class RegionTable:
    """A probability table after a region prior, and the region it was read as (None: no prior)."""

    probs: np.ndarray
    region: str | None


def _slot_mask(pattern: str, alphabet: str, pad_char: str, slots: int) -> np.ndarray:
    """``slots x alphabet`` bool mask of characters allowed by ``pattern`` (L letter, N digit, pad after)."""
    letters = np.array([c.isalpha() for c in alphabet])
    digits = np.array([c.isdigit() for c in alphabet])
    pad = np.array([c == pad_char for c in alphabet])
    rows = [letters if p == "L" else digits for p in pattern[:slots]]
    rows += [pad] * (slots - len(rows))
    return np.stack(rows)


def greedy_logp(probs: np.ndarray) -> float:
    return float(np.log(np.maximum(probs.max(axis=1), 1e-12)).sum())


def pattern_table(probs: np.ndarray, alphabet: str, pad_char: str,
                  patterns: tuple[str, ...] = BR_PATTERNS) -> tuple[np.ndarray, float]:
    """The table masked by the likeliest of ``patterns``, and that pattern's greedy log-probability."""
    best, best_logp = probs, -np.inf
    for pattern in patterns:
        masked = np.where(_slot_mask(pattern, alphabet, pad_char, probs.shape[0]), probs, 0.0)
        logp = greedy_logp(masked)
        if logp > best_logp:
            best, best_logp = masked, logp
    return best, best_logp


def us_table(probs: np.ndarray, alphabet: str) -> np.ndarray:
    """Probability of ``O`` moved to ``0``."""
    if "O" not in alphabet or "0" not in alphabet:
        return probs
    out = probs.copy()
    o, zero = alphabet.index("O"), alphabet.index("0")
    out[:, zero] += out[:, o]
    out[:, o] = 0.0
    return out


def apply_region(probs: np.ndarray, region: str | None, alphabet: str, pad_char: str) -> RegionTable:
    """Apply the prior of ``region`` (auto, br, us, none) to a ``slots x alphabet`` table."""
    region = (region or "none").lower()
    if region == "none":
        return RegionTable(probs, None)
    if region == "us":
        return RegionTable(us_table(probs, alphabet), "us")
    masked, logp = pattern_table(probs, alphabet, pad_char)
    if region == "br":
        return RegionTable(masked, "br")
    if region != "auto":
        logger.warning("unknown plate region %r; no format prior applied", region)
        return RegionTable(probs, None)
    if logp >= greedy_logp(probs) + np.log(AUTO_MIN_RATIO):
        return RegionTable(masked, "br")
    return RegionTable(us_table(probs, alphabet), "us")
