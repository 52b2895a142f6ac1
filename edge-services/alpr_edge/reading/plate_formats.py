"""Region plate layouts (config/plate_formats.yaml) used as priors to choose between read candidates.

A layout is written without separators: ``L`` a letter, ``D`` a digit, ``A`` either, ``{m,n}`` repeats the
previous token, anything else is literal. Confusable pairs (O/0, I/1, B/8, S/5, Z/2) are swapped to reach
a valid layout when the vote leaves the choice open; a matching layout adds ``format_bonus`` to the score.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ..pipeline_config import PlateFormatSettings
from ..types import PlateCandidate
from .voting import VoteResult

_TOKENS = {"L": "[A-Z]", "D": "[0-9]", "A": "[A-Z0-9]"}
MAX_OPTIONS_PER_POSITION = 3
MAX_CANDIDATES = 10


def compile_layout(layout: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(layout):
        ch = layout[i]
        if ch == "{":
            j = layout.index("}", i)
            out.append(layout[i: j + 1])
            i = j + 1
            continue
        out.append(_TOKENS.get(ch, re.escape(ch)))
        i += 1
    return re.compile("".join(out))


@dataclass(frozen=True)
class ResolvedPlate:
    text: str
    score: float
    region: str | None
    candidates: tuple[PlateCandidate, ...]


class PlateFormats:
    def __init__(self, settings: PlateFormatSettings | None = None):
        self.settings = settings or PlateFormatSettings()
        ordered = list(dict.fromkeys([*self.settings.priority, *self.settings.regions]))
        self._regions = [(rid, [compile_layout(p) for p in self.settings.regions[rid].patterns])
                         for rid in ordered if rid in self.settings.regions]
        self._bonus = {rid: self._region_bonus(rid) for rid, _ in self._regions}
        self._partner: dict[str, str] = {}
        for pair in self.settings.confusables:
            a, b = pair[0], pair[1]
            self._partner.setdefault(a, b)
            self._partner.setdefault(b, a)

    def _region_bonus(self, rid: str) -> float:
        region, s = self.settings.regions[rid], self.settings
        if region.bonus is not None:
            return region.bonus
        return s.format_bonus if not s.priority or rid in s.priority else s.other_region_bonus

    def region_of(self, text: str) -> str | None:
        """First region (priority order) whose layout matches ``text`` exactly."""
        for rid, patterns in self._regions:
            if any(p.fullmatch(text) for p in patterns):
                return rid
        return None

    def resolve(self, voted: VoteResult) -> ResolvedPlate:
        """Best candidate by vote share plus the format bonus; ties keep the plain vote."""
        scored: dict[str, tuple[float, str | None]] = {}
        for text in self._spellings(voted):
            region = self.region_of(text)
            scored[text] = (voted.score(text) + self._bonus.get(region or "", 0.0), region)
        for text, share in voted.other_texts:
            region = self.region_of(text)
            scored.setdefault(text, (share + self._bonus.get(region or "", 0.0), region))
        if not scored:
            return ResolvedPlate("", 0.0, None, ())
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[0] != voted.text, kv[0]))
        best, (score, region) = ranked[0]
        candidates = tuple(PlateCandidate(t, round(min(1.0, s), 4)) for t, (s, _) in ranked[:MAX_CANDIDATES])
        return ResolvedPlate(best, score, region, candidates)

    def _spellings(self, voted: VoteResult) -> list[str]:
        """The voted text and variants changing at most ``max_substitutions`` positions."""
        if not voted.text:
            return []
        options = []
        for char, probs in zip(voted.text, voted.char_scores, strict=True):
            alts = [c for c, _ in sorted(probs.items(), key=lambda kv: -kv[1]) if c != char]
            if char in self._partner:
                alts.append(self._partner[char])
            options.append(list(dict.fromkeys(alts))[: MAX_OPTIONS_PER_POSITION - 1])
        out = [voted.text]
        for k in range(1, self.settings.max_substitutions + 1):
            for positions in itertools.combinations([i for i, o in enumerate(options) if o], k):
                for chars in itertools.product(*(options[i] for i in positions)):
                    text = list(voted.text)
                    for i, c in zip(positions, chars, strict=True):
                        text[i] = c
                    out.append("".join(text))
        return out
