"""Plate layouts as data: one ``config/plate_layouts/*.yaml`` file holds one or more :class:`PlateLayout`.

Lengths are millimetres on the physical plate; the renderer draws at ``px_per_mm``. Text patterns use
``L`` (letter), ``D`` (digit), ``A`` (letter or digit); any other character is drawn as is and is not part of
the label (``-``, space, ``·``); ``|`` starts the next row of a two-line plate.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
PATTERN_CHARS = re.compile(r"^[LDA \-·|]+$")


class LayoutError(ValueError):
    """A layout file is missing, not YAML, or does not validate; the message names the file and field."""


def _check_colour(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError(f"colour {value!r} is not #RRGGBB")
    return value.lower()


Colour = Annotated[str, AfterValidator(_check_colour)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextRow(_Model):
    """One row of plate characters."""

    centre_y_mm: float = Field(ge=0, le=300, description="Vertical centre of the characters on the plate.")
    height_mm: float = Field(gt=5, le=150, description="Character height.")
    char_width_mm: float = Field(gt=2, le=100, description="Width of each character cell (glyphs are fitted).")
    spacing_mm: float = Field(0, ge=0, le=40, description="Gap between neighbouring characters.")
    separator_width_mm: float = Field(8, ge=0, le=60, description="Width of a space, dash or dot of the pattern.")
    fonts: list[str] = Field(min_length=1, description="Font keys (PlateLayout.fonts or the default table); "
                                                      "one is picked per plate.")
    colour: Colour = Field("#101010", description="Character colour #RRGGBB.")


class Caption(_Model):
    """Fixed text printed on the plate (state or country name, slogan); never part of the label."""

    texts: list[str] = Field(min_length=1, description="One is picked at random per plate.")
    centre_x_mm: float | None = Field(None, ge=0, le=600, description="Horizontal centre; None = plate centre.")
    centre_y_mm: float = Field(ge=0, le=300, description="Vertical centre.")
    height_mm: float = Field(gt=1, le=60, description="Text height.")
    font: str = Field(description="Font key.")
    colour: Colour = Field("#202020", description="Text colour #RRGGBB.")
    probability: float = Field(1.0, ge=0, le=1, description="Chance the caption is drawn.")


class Band(_Model):
    """A coloured side band (EU blue band with stars and country code, Mercosul top band)."""

    side: Literal["left", "top"] = Field(description="Where the band sits.")
    size_mm: float = Field(gt=0, le=120, description="Band width (left) or height (top).")
    colour: Colour = Field("#003399", description="Band colour #RRGGBB.")
    stars: bool = Field(False, description="Draw the EU circle of 12 yellow stars.")
    code: str = Field("", max_length=4, description="Country code in white (D, F, I, E, NL, PL, GB, BR).")
    code_height_mm: float = Field(14, gt=1, le=60, description="Height of the country code.")
    code_font: str = Field("sans_bold", description="Font key of the country code.")


class Sticker(_Model):
    """A registration or validation sticker (US corners, DE seals)."""

    x_mm: float = Field(ge=0, le=600, description="Left edge.")
    y_mm: float = Field(ge=0, le=300, description="Top edge.")
    width_mm: float = Field(gt=1, le=100, description="Width.")
    height_mm: float = Field(gt=1, le=300, description="Height.")
    colours: list[Colour] = Field(min_length=1, description="One is picked at random.")
    round: bool = Field(False, description="Draw an ellipse instead of a rectangle.")
    probability: float = Field(0.5, ge=0, le=1, description="Chance the sticker is drawn.")


class Frame(_Model):
    """A dealer frame around the plate, sometimes with text on its bottom bar."""

    probability: float = Field(0.3, ge=0, le=1, description="Chance a frame is drawn.")
    width_mm: float = Field(8, gt=0, le=40, description="Frame bar width.")
    colours: list[Colour] = Field(["#111111", "#c0c0c0"], min_length=1, description="One is picked at random.")
    texts: list[str] = Field([], description="Dealer texts for the bottom bar (empty: none).")


class Screws(_Model):
    """Mounting screws or holes."""

    positions_mm: list[tuple[float, float]] = Field(description="Screw centres (x, y).")
    radius_mm: float = Field(4, gt=0, le=20, description="Screw head radius.")
    probability: float = Field(0.6, ge=0, le=1, description="Chance the screws are drawn.")


class PlateLayout(_Model):
    """One plate design: size, colours, rows of characters, and the decorations around them."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", description="Unique id, e.g. us_ca, eu_de, br_mercosul.")
    region: str = Field(pattern=r"^[a-z]{2}(_[a-z0-9]+)?$", description="Region code (us, de, br, ...).")
    weight: float = Field(1.0, gt=0, le=100, description="Relative sampling weight among all layouts.")
    width_mm: float = Field(gt=50, le=600, description="Plate width.")
    height_mm: float = Field(gt=30, le=300, description="Plate height.")
    corner_radius_mm: float = Field(6, ge=0, le=40, description="Corner radius.")
    background: Colour = Field(description="Plate colour #RRGGBB.")
    background_alt: list[Colour] = Field([], description="Other plate colours (variants, e.g. yellow GB rear).")
    gradient: float = Field(0.08, ge=0, le=0.5, description="Strength of a vertical brightness gradient.")
    border_mm: float = Field(2, ge=0, le=20, description="Border line width (0: none).")
    border_colour: Colour = Field("#202020", description="Border colour #RRGGBB.")
    patterns: list[str] = Field(min_length=1, description="Text patterns (L letter, D digit, A either, | new row).")
    letters: str = Field("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_length=1, pattern=r"^[A-Z]+$",
                         description="Letters this region issues.")
    rows: list[TextRow] = Field(min_length=1, max_length=2, description="Character rows, top first.")
    captions: list[Caption] = Field([], description="Fixed texts (state, country, slogan).")
    band: Band | None = Field(None, description="EU / Mercosul band.")
    stickers: list[Sticker] = Field([], description="Stickers.")
    frame: Frame | None = Field(None, description="Dealer frame.")
    screws: Screws | None = Field(None, description="Screws.")
    fonts: dict[str, str] = Field({}, description="Font key -> font file name (searched in the font dirs).")

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        for value in values:
            if not PATTERN_CHARS.match(value) or not any(c in "LDA" for c in value):
                raise ValueError(f"pattern {value!r} must use L, D, A, separators ' -·' and '|'")
        return values

    @model_validator(mode="after")
    def _rows_match_patterns(self) -> PlateLayout:
        for value in self.patterns:
            if value.count("|") + 1 != len(self.rows):
                raise ValueError(f"pattern {value!r} has {value.count('|') + 1} rows, the layout {len(self.rows)}")
        return self


class LayoutFile(_Model):
    """The top level of a ``plate_layouts/*.yaml`` file."""

    layouts: list[PlateLayout] = Field(min_length=1, description="Plate designs of this file.")


def load_layout_file(path: Path) -> list[PlateLayout]:
    """Layouts of one YAML file; :class:`LayoutError` names the file and the failing field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return LayoutFile.model_validate(data).layouts
    except OSError as exc:
        raise LayoutError(f"{path}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise LayoutError(f"{path}: not valid YAML ({exc})") from exc
    except ValidationError as exc:
        raise LayoutError(f"{path}: invalid plate layout:\n{exc}") from exc


def load_layouts(path: Path) -> list[PlateLayout]:
    """All layouts of a file or of every ``*.yaml`` in a folder (sorted); names must be unique."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise LayoutError(f"{path}: no *.yaml plate layouts")
    layouts = [layout for file in files for layout in load_layout_file(file)]
    names = [layout.name for layout in layouts]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LayoutError(f"{path}: duplicate layout names {', '.join(dupes)}")
    return layouts
