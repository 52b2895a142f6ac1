"""Plate format packs and the format prior, shared by still photos (``alpr-read``) and video.

    from alpr_edge.plates import FormatPrior, slots_from_table, slots_from_scores
    prior = FormatPrior(cfg.plate_formats, cfg.ocr.region)
    result = prior.apply_to_table(probs, decoded, alphabet, pad_char, aspect)   # OcrResult with region
    res = prior.resolve(slots_from_scores(voted.char_scores), aspect)           # Resolution(text, region)

Packs are data: ``alpr_edge/plates/packs/*.yaml`` (built in) plus ``plate_formats.packs`` in the config.
"""

from .formats import UNKNOWN, FormatPrior, Resolution, box_aspect, slots_from_scores, slots_from_table
from .packs import CompiledPack, compile_layout, load_packs
from .settings import PlateFormatSettings, PlatePack

__all__ = [
    "UNKNOWN",
    "CompiledPack",
    "FormatPrior",
    "PlateFormatSettings",
    "PlatePack",
    "Resolution",
    "box_aspect",
    "compile_layout",
    "load_packs",
    "slots_from_scores",
    "slots_from_table",
]
