"""The one rule that splits labelled plate photos into ``training`` and ``validation``.

A photo's split depends only on its plate text: ``sha256("ovr-alpr-split-v1:" + PLATE)``, read as a
number, modulo 100, is below :data:`VALIDATION_PERCENT` -> ``validation``, else ``training``. PLATE is
the label normalised to ``[0-9A-Z]`` (upper case, separators dropped), so every photo of one plate, in
any folder and under any file name, lands in the same split, and adding photos never moves old ones.
Validation photos are never trained on and are the only ones used to choose between models.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Literal

Split = Literal["training", "validation"]
SPLIT_CHOICES = ("training", "validation", "all")
VALIDATION_PERCENT = 30
_SALT = "ovr-alpr-split-v1:"


def normalize_plate(text: str) -> str:
    """The plate text the split is keyed on: upper case, only ``[0-9A-Z]``."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def split_of(plate: str) -> Split:
    """``validation`` for about :data:`VALIDATION_PERCENT` % of plate texts, ``training`` for the rest."""
    digest = hashlib.sha256((_SALT + normalize_plate(plate)).encode("ascii")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    return "validation" if bucket < VALIDATION_PERCENT else "training"


def in_split(plate: str, split: str) -> bool:
    """Whether ``plate`` belongs to ``split`` (one of :data:`SPLIT_CHOICES`; ``all`` takes every plate)."""
    if split not in SPLIT_CHOICES:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_CHOICES)}")
    return split == "all" or split_of(plate) == split


def select(plates: Iterable[str], split: str) -> list[str]:
    """The plates of ``plates`` that belong to ``split``, in their order."""
    return [p for p in plates if in_split(p, split)]
