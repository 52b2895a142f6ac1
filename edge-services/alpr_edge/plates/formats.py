"""The format prior: which pack a read fits, and near-tie breaking between the recogniser's own candidates.

One prior serves still photos (``alpr-read``: the slot-probability table of a plate) and video (the vote over
a track's reads), from the same packs (:mod:`alpr_edge.plates.packs`)::

    prior = FormatPrior(cfg.plate_formats, cfg.ocr.region)
    res = prior.resolve(slots_from_table(probs, alphabet, pad), aspect=width / height)
    res.text, res.region                      # e.g. "ABC1D23", "br"; region "unknown" when no pack fits

A pack is only considered when the plate's shape fits it: the detected box's width/height within
``aspect_tolerance`` (log scale) of the pack's nominal ``aspect`` to change a character, within the looser
``label_aspect_tolerance`` to keep and name a read (any pack when the box is unknown, or the pack has no
aspect). Rules, in this order:

1. A character read with probability ``confident_at`` or more is never changed; another character is a
   candidate only when the recogniser itself gives it ``tie_ratio`` of the top one's probability (one of its
   ``alternatives_per_slot`` next best), and a changed spelling only when its probability is ``tie_ratio``
   of the read's or more. At most ``max_changes`` characters change.
2. ``ocr.region`` naming packs (``br``, ``us``, ``us-ca``, ``de``, ``eu``...): the likeliest spelling that
   fits one of them wins, when there is one.
3. A read that fits a pack is kept exactly as read: a valid plate of one country is never rewritten into
   another country's layout. For this rule the shape need only fit within the looser
   ``label_aspect_tolerance`` (detector boxes of small plates are often taller than the plate: a German plate
   in a box of Brazilian shape must not become a Brazilian spelling).
4. Otherwise the likeliest spelling that fits a pack (strictly, within ``aspect_tolerance``) wins; when
   none fits, the read is kept and its region is ``unknown``. The looser fit never changes a character.

The label (``region``) among the packs a text fits: the preferred pack, else the one whose nominal
width/height is closest to the box's, else the earlier pack; ``unknown`` when none fits.
``ocr.region: none`` labels reads but changes nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..types import OcrResult, PlateCandidate
from .packs import CompiledPack, check_region, load_packs
from .settings import PlateFormatSettings

UNKNOWN = "unknown"
MAX_SPELLINGS = 256
_CACHE_SIZE = 4096

Slot = tuple[tuple[str, float], ...]  # one position: the recogniser's characters, likeliest first


@dataclass(frozen=True)
class Resolution:
    """The read after the prior, the pack it fits (or ``unknown``), and what was considered."""

    text: str
    region: str
    changed: tuple[int, ...] = ()  # positions the prior changed
    spellings: tuple[str, ...] = ()  # spellings considered (the read first)


@dataclass(frozen=True)
class _Spelling:
    text: str
    logp: float
    changed: tuple[int, ...]


class FormatPrior:
    """Region inference and near-tie breaking from the format packs (see the module docstring)."""

    def __init__(self, settings: PlateFormatSettings | None = None, region: str = "auto"):
        self.settings = settings or PlateFormatSettings()
        self.packs = load_packs(self.settings)
        check_region(region, self.packs)
        self.region = region.lower()
        self.breaks_ties = self.region != "none"
        self.preferred = self.region not in ("auto", "none")
        self._fit_limit = math.log1p(self.settings.aspect_tolerance)
        self._label_limit = math.log1p(self.settings.label_aspect_tolerance)
        self._min_logp = math.log(self.settings.tie_ratio)
        self._cache: dict[str, tuple[CompiledPack, ...]] = {}

    def matching(self, text: str) -> tuple[CompiledPack, ...]:
        """The packs any of whose layouts ``text`` fits, in pack order."""
        hit = self._cache.get(text)
        if hit is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            hit = self._cache[text] = tuple(p for p in self.packs if p.matches(text))
        return hit

    def fitting(self, text: str, aspect: float | None = None, loose: bool = False) -> list[CompiledPack]:
        """The packs ``text`` fits whose plate shape fits ``aspect`` (width / height; None: any) within
        ``aspect_tolerance`` (``label_aspect_tolerance`` when ``loose``)."""
        limit = self._label_limit if loose else self._fit_limit
        return [p for p in self.matching(text) if p.aspect_error(aspect) <= limit]

    def region_of(self, text: str, aspect: float | None = None) -> str | None:
        """The best label among the packs :meth:`fitting` ``text``, or None (events: ``FormatMatcher``); the
        looser shape fit names the region when no pack fits the strict one."""
        packs = self.fitting(text, aspect) or self.fitting(text, aspect, loose=True)
        return self._label(packs, aspect).id if packs else None

    def label(self, text: str, aspect: float | None = None) -> str:
        """:meth:`region_of`, ``unknown`` when no pack fits."""
        return self.region_of(text, aspect) or UNKNOWN

    def resolve(self, slots: Sequence[Slot], aspect: float | None = None) -> Resolution:
        """Apply the rules of the module docstring to one read given per position (``slots``)."""
        read = "".join(slot[0][0] for slot in slots if slot)
        if len(read) != len(slots) or not read:
            return Resolution(read, UNKNOWN, (), (read,))
        spellings = self._spellings(slots) if self.breaks_ties else [_Spelling(read, 0.0, ())]
        texts = tuple(s.text for s in spellings)
        best = self._best(spellings, aspect, preferred_only=True) if self.preferred else None
        if best is None:
            region = self.region_of(read, aspect)
            if region is not None:  # fits a pack, even loosely: kept exactly as read
                return Resolution(read, region, (), texts)
            best = self._best(spellings, aspect, preferred_only=False)
        if best is None:
            return Resolution(read, UNKNOWN, (), texts)
        return Resolution(best[0].text, best[1].id, best[0].changed, texts)

    def _label(self, packs: Sequence[CompiledPack], aspect: float | None) -> CompiledPack:
        def key(ip: tuple[int, CompiledPack]) -> tuple[bool, float, int]:
            i, p = ip
            return not (self.preferred and p.named_by(self.region)), p.aspect_error(aspect), i

        return min(enumerate(packs), key=key)[1]

    def _best(self, spellings: Sequence[_Spelling], aspect: float | None,
              preferred_only: bool) -> tuple[_Spelling, CompiledPack] | None:
        """The likeliest spelling that fits a pack (a preferred one with ``preferred_only``), and its label."""
        for sp in sorted(spellings, key=lambda sp: -sp.logp):  # stable: the read first among equals
            packs = self.fitting(sp.text, aspect)
            if preferred_only:
                packs = [p for p in packs if p.named_by(self.region)]
            if packs:
                return sp, self._label(packs, aspect)
        return None

    def _options(self, slot: Slot) -> list[tuple[str, float]]:
        """The near-tie alternatives of one position (none when its top character is confident)."""
        s = self.settings
        top = slot[0][1]
        if top >= s.confident_at:
            return []
        return [(c, p) for c, p in slot[1: 1 + s.alternatives_per_slot] if p > 0 and p >= s.tie_ratio * top]

    def _spellings(self, slots: Sequence[Slot]) -> list[_Spelling]:
        """The read, then every spelling changing up to ``max_changes`` positions to near-tie alternatives."""
        read = [slot[0][0] for slot in slots]
        base = sum(math.log(max(slot[0][1], 1e-12)) for slot in slots)
        options = {i: opts for i, slot in enumerate(slots) if (opts := self._options(slot))}
        out = [_Spelling("".join(read), base, ())]
        for k in range(1, self.settings.max_changes + 1):
            for positions in itertools.combinations(sorted(options), k):
                for chosen in itertools.product(*(options[i] for i in positions)):
                    text, logp = list(read), base
                    for i, (char, p) in zip(positions, chosen, strict=True):
                        text[i] = char
                        logp += math.log(p) - math.log(max(slots[i][0][1], 1e-12))
                    if logp - base >= self._min_logp:  # the whole reading is a near-tie too
                        out.append(_Spelling("".join(text), logp, positions))
                    if len(out) >= MAX_SPELLINGS:
                        return out
        return out

    def apply_to_table(self, probs: np.ndarray, decoded: OcrResult, alphabet: str, pad_char: str,
                       aspect: float | None = None) -> OcrResult:
        """``decoded`` (the plain decoding of ``probs``) after the prior, with its region."""
        slots = slots_from_table(probs, alphabet, pad_char, self.settings.alternatives_per_slot + 1)
        res = self.resolve(slots, aspect)
        if res.text == decoded.text or len(res.text) != len(decoded.char_confidences):
            return replace(decoded, region=res.region)
        chars = list(decoded.char_confidences)
        ratio = 1.0
        for i in res.changed:
            new = dict(slots[i])[res.text[i]]
            ratio *= new / max(chars[i], 1e-12)
            chars[i] = new
        confidence = float(min(1.0, decoded.confidence * ratio))
        others = tuple(c for c in decoded.candidates if c.text != res.text)
        return replace(decoded, text=res.text, confidence=confidence, char_confidences=tuple(chars),
                       candidates=(PlateCandidate(res.text, confidence), *others)[: max(1, len(decoded.candidates))],
                       region=res.region)


def box_aspect(box: Sequence[float]) -> float | None:
    """Width / height of an ``x1, y1, x2, y2`` box (None for a degenerate box)."""
    x1, y1, x2, y2 = box
    return (x2 - x1) / (y2 - y1) if y2 > y1 and x2 > x1 else None


def slots_from_table(probs: np.ndarray, alphabet: str, pad_char: str, per_slot: int = 3) -> list[Slot]:
    """Per non-padding slot of a ``slots x alphabet`` table: its ``per_slot`` likeliest characters (no pad)."""
    probs = np.asarray(probs, dtype=np.float64)
    pad = alphabet.index(pad_char) if pad_char in alphabet else -1
    out: list[Slot] = []
    for row in probs:
        order = np.argsort(-row, kind="stable")  # ties as argmax (the decoder) breaks them
        if int(order[0]) == pad:
            continue
        out.append(tuple((alphabet[int(c)], float(row[c])) for c in order[: per_slot + 1] if int(c) != pad)[:per_slot])
    return out


def slots_from_scores(char_scores: Sequence[Mapping[str, float]]) -> list[Slot]:
    """Per position of a vote (char -> share of the reads' confidence): best first, ties as the vote breaks them."""
    return [tuple(sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)) for scores in char_scores]
