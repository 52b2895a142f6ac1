"""Synthetic licence plates: layouts as data (``config/plate_layouts``), rendered and camera-augmented.

``PlateSynth(load_layouts(dir), seed).sample(i)`` is a pure function of ``(seed, i)``: the same seed and
index give the same image and label on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .augment import AugmentSettings, augment
from .layout import LayoutError, PlateLayout, load_layouts
from .render import render_plate
from .text import generate_text

__all__ = ["AugmentSettings", "LayoutError", "PlateLayout", "PlateSynth", "SynthPlate", "load_layouts"]


@dataclass(frozen=True)
class SynthPlate:
    """One synthetic crop (BGR uint8), its label (``[0-9A-Z]``) and the layout it came from."""

    image: np.ndarray
    label: str
    layout: str


class PlateSynth:
    """Samples plates from weighted layouts, deterministically by ``(seed, index)``."""

    def __init__(self, layouts: list[PlateLayout], seed: int = 0, *, confusable_p: float = 0.35,
                 augment_settings: AugmentSettings | None = None, clean: bool = False):
        if not layouts:
            raise LayoutError("no plate layouts")
        self.layouts = layouts
        self.seed = seed
        self.confusable_p = confusable_p
        self.settings = augment_settings or AugmentSettings()
        self.clean = clean
        weights = np.array([layout.weight for layout in layouts], dtype=np.float64)
        self.cumulative = np.cumsum(weights / weights.sum())

    def sample(self, index: int) -> SynthPlate:
        rng = np.random.default_rng([self.seed, index])
        layout = self.layouts[min(int(np.searchsorted(self.cumulative, rng.random())), len(self.layouts) - 1)]
        text = generate_text(layout.patterns, layout.letters, rng, self.confusable_p)
        plate = render_plate(layout, text, rng)
        image = np.ascontiguousarray(plate[..., 2::-1]) if self.clean else augment(plate, rng, self.settings)
        return SynthPlate(image, text.label, layout.name)
