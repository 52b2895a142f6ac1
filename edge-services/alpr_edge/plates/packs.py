"""Format packs: plate layouts per country or state, as data (``packs/*.yaml`` + ``plate_formats.packs``).

A layout is written without separators: ``L`` a letter, ``D`` a digit, ``A`` either, ``P`` one of the pack's
``prefixes``, ``[..]`` a character class (copied as is), ``{m,n}`` / ``?`` repeat the previous token,
``( | )`` group alternatives; any other character is literal.

    packs = load_packs(settings)              # list[CompiledPack], built-in order then the configured ones
    packs[0].matches("ABC1234")               # whole-text match of any of its layouts
"""

from __future__ import annotations

import functools
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .settings import PlateFormatSettings, PlatePack

logger = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parent / "packs"
BUILTIN_FILES = ("br.yaml", "us.yaml", "eu.yaml", "asia.yaml")  # order: ties between equal packs go to the earlier one
_TOKENS = {"L": "[A-Z]", "D": "[0-9]", "A": "[A-Z0-9]"}
_PASS_THROUGH = set("(|)?")


def compile_layout(layout: str, prefixes: tuple[str, ...] = ()) -> re.Pattern[str]:
    """The regular expression of one layout (see the module docstring)."""
    out, i = [], 0
    while i < len(layout):
        ch = layout[i]
        if ch in "[{":
            j = layout.index("]" if ch == "[" else "}", i)
            out.append(layout[i: j + 1])
            i = j + 1
            continue
        if ch == "P":
            if not prefixes:
                raise ValueError(f"layout {layout!r} uses P but the pack has no prefixes")
            out.append("(?:" + "|".join(re.escape(p) for p in prefixes) + ")")
        else:
            out.append(_TOKENS.get(ch, ch if ch in _PASS_THROUGH else re.escape(ch)))
        i += 1
    return re.compile("".join(out))


@dataclass(frozen=True)
class CompiledPack:
    """A pack with its layouts compiled into one expression."""

    id: str
    country: str
    group: str
    aspect: float | None
    regex: re.Pattern[str]
    enabled: bool = True

    @classmethod
    def of(cls, pack_id: str, pack: PlatePack, enabled: bool = True) -> CompiledPack:
        prefixes = tuple(pack.prefixes)
        parts = [compile_layout(p, prefixes).pattern for p in pack.patterns]
        regex = re.compile("|".join(f"(?:{p})" for p in parts))
        return cls(pack_id, pack.country, pack.group, pack.aspect, regex, enabled)

    def matches(self, text: str) -> bool:
        return self.regex.fullmatch(text) is not None

    def named_by(self, region: str) -> bool:
        """Whether ``region`` (an ``ocr.region`` value) names this pack: its id, id prefix, country or group."""
        region = region.lower()
        return (region in (self.id, self.country.lower(), self.group)
                or self.id.startswith(region + "-"))

    def aspect_error(self, aspect: float | None) -> float:
        """``|log(aspect / nominal)|``; 0 when either is unknown."""
        if aspect is None or self.aspect is None or aspect <= 0:
            return 0.0
        return abs(math.log(aspect / self.aspect))


def read_pack_file(path: Path) -> dict[str, PlatePack]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    return {pack_id: PlatePack(**body) for pack_id, body in data.items()}


@functools.lru_cache(maxsize=1)
def builtin_packs() -> tuple[CompiledPack, ...]:
    """The packs of :data:`BUILTIN_FILES`, read and compiled once."""
    packs: dict[str, PlatePack] = {}
    for name in BUILTIN_FILES:
        packs.update(read_pack_file(BUILTIN_DIR / name))
    return tuple(_compile_all(packs))


def _compile_all(packs: dict[str, PlatePack]) -> list[CompiledPack]:
    compiled = []
    for pack_id, pack in packs.items():
        if not isinstance(pack_id, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", pack_id):
            raise ValueError(f"plate pack id {pack_id!r}: lower-case letters, digits and dashes only")
        compiled.append(CompiledPack.of(pack_id, pack, pack.enabled))
    return compiled


def load_packs(settings: PlateFormatSettings) -> list[CompiledPack]:
    """The enabled packs: built-in ones (unless ``builtin_packs`` is false) in file order, then the other
    ``settings.packs``; a configured pack replaces the built-in pack of the same id in place."""
    packs = {p.id: p for p in builtin_packs()} if settings.builtin_packs else {}
    packs.update({p.id: p for p in _compile_all(settings.packs)})
    return [p for p in packs.values() if p.enabled]


def check_region(region: str, packs: list[CompiledPack]) -> None:
    """Raise ValueError unless ``region`` (``ocr.region``) is auto, none, or names at least one pack."""
    if region.lower() in ("auto", "none") or any(p.named_by(region) for p in packs):
        return
    names = sorted({p.id for p in packs} | {p.country.lower() for p in packs} | {p.group for p in packs if p.group})
    raise ValueError(f"ocr.region {region!r} names no plate format pack; use auto, none, or one of: "
                     f"{', '.join(names)}")
