"""Configuration of the plate format packs and of the near-tie prior (section ``plate_formats:``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from alpr_common.settings import StrictModel

# Keys of the former ``plate_formats:`` section (regions with score bonuses), removed with it.
_REPLACED_KEYS = {
    "regions": "plate_formats.packs (same layouts; built-in packs need no configuration)",
    "priority": "ocr.region (a pack id, country or group to prefer)",
    "format_bonus": "plate_formats.tie_ratio / confident_at (a prior only breaks near-ties)",
    "other_region_bonus": "ocr.region",
    "max_substitutions": "plate_formats.max_changes",
}


class PlatePack(StrictModel):
    """One format pack: the plate layouts of a country or state, written without separators."""

    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$",
                         description="ISO 3166-1 alpha-2 country code (upper case).")
    group: str = Field("", max_length=16, pattern=r"^[a-z]*$",
                       description="Wider group the pack belongs to (eu, us, sa...); ocr.region may name it.")
    name: str = Field("", max_length=200, description="What the pack covers (documentation only).")
    patterns: list[str] = Field(
        min_length=1, max_length=64,
        description="Layouts: L letter, D digit, A either, P a prefix, [..] class, {m,n} and ? repeat.")
    prefixes: list[str] = Field(
        default_factory=list, max_length=2000,
        description="What P stands for (district or canton codes), upper-case letters and digits.")
    aspect: float | None = Field(
        None, gt=0.2, le=10.0,
        description="Nominal width/height of the plate (none: any); decides between packs, never rewrites.")
    enabled: bool = Field(True, description="false: the pack is not used (e.g. to switch off a built-in pack).")


class PlateFormatSettings(StrictModel):
    """Format packs (built-in ones in alpr_edge/plates/packs/*.yaml, plus ``packs``) and the near-tie prior."""

    builtin_packs: bool = Field(True, description="Load the built-in packs (EU countries, US states, Brazil).")
    packs: dict[str, PlatePack] = Field(
        default_factory=dict,
        description="Packs added to the built-in ones by id (lower case, e.g. us-ca); an id that exists replaces it.")
    confident_at: float = Field(
        0.8, gt=0.0, le=1.0,
        description="A character the recogniser reads with this probability or more is never changed.")
    tie_ratio: float = Field(
        0.25, gt=0.0, le=1.0,
        description="An alternative character must have at least this share of the top one's probability.")
    max_changes: int = Field(1, ge=0, le=4, description="Characters a prior may change in one read at most.")
    alternatives_per_slot: int = Field(
        2, ge=1, le=5, description="The recogniser's next-best characters considered per position.")
    aspect_tolerance: float = Field(
        0.35, ge=0.0, le=3.0,
        description="A plate fits a pack's aspect when width/height is within this share of it (log scale); "
                    "the fit a read needs before the prior may change a character to match that pack.")
    label_aspect_tolerance: float = Field(
        0.5, ge=0.0, le=3.0,
        description="The looser shape fit that names the region of a read no pack fits strictly (detector "
                    "boxes of small plates are often taller than the plate); never changes a character; at "
                    "least aspect_tolerance.")
    confusables: list[str] = Field(
        default_factory=lambda: ["O0", "I1", "B8", "S5", "Z2"],
        description="Character pairs OCR confuses (fuzzy event deduplication).")

    @model_validator(mode="before")
    @classmethod
    def _reject_replaced_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, instead in _REPLACED_KEYS.items():
                if key in data:
                    raise ValueError(f"plate_formats.{key} was removed; use {instead} (docs/still-reading.md)")
        return data

    @model_validator(mode="after")
    def _label_fit_is_looser(self) -> PlateFormatSettings:
        if self.label_aspect_tolerance < self.aspect_tolerance:
            raise ValueError(f"plate_formats.label_aspect_tolerance ({self.label_aspect_tolerance}) must be at "
                             f"least aspect_tolerance ({self.aspect_tolerance})")
        return self
