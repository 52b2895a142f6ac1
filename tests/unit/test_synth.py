"""Synthetic plate renderer: layouts load and validate, rendering is deterministic, labels match the text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alpr_training.synth import LayoutError, PlateSynth, load_layouts
from alpr_training.synth.fonts import FontError, resolve_font
from alpr_training.synth.layout import load_layout_file
from alpr_training.synth.render import render_plate
from alpr_training.synth.text import CONFUSABLE_DIGITS, CONFUSABLE_LETTERS, PlateText, generate_text

LAYOUTS = Path(__file__).resolve().parents[2] / "config" / "plate_layouts"

MINIMAL = """
layouts:
  - name: t_one
    region: us
    width_mm: 300
    height_mm: 150
    background: "#ffffff"
    patterns: ["LLL DDD"]
    rows:
      - {centre_y_mm: 75, height_mm: 70, char_width_mm: 30, spacing_mm: 4, fonts: [sans_bold], colour: "#000000"}
"""


@pytest.fixture(scope="module")
def layouts():
    try:
        resolve_font("sans_bold")
    except FontError as exc:
        pytest.skip(str(exc))
    return load_layouts(LAYOUTS)


def test_shipped_layouts_cover_the_regions(layouts):
    names = {layout.name for layout in layouts}
    regions = {layout.region.split("_")[0] for layout in layouts}
    assert {"de", "fr", "it", "es", "nl", "pl", "gb", "br", "us"} <= regions
    assert {"br_old", "br_mercosul"} <= names
    assert any(len(layout.rows) == 2 for layout in layouts)  # two-line plates
    assert sum(layout.name.startswith("us_") for layout in layouts) >= 4
    for layout in layouts:  # every font key resolves to an installed file
        for row in layout.rows:
            for key in row.fonts:
                assert resolve_font(key, layout.fonts).is_file()


@pytest.mark.parametrize(("patch", "message"), [
    ("    colour_typo: 1\n", "colour_typo"),                     # extra="forbid"
    ("    weight: -1\n", "weight"),                               # bounds
    ("    band: {side: right, size_mm: 40}\n", "band.side"),     # enum
])
def test_bad_layout_names_file_and_field(tmp_path, patch, message):
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL + patch, encoding="utf-8")
    with pytest.raises(LayoutError) as err:
        load_layout_file(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(("pattern", "message"), [("LLL|DDD", "rows"), ("XYZ", "pattern")])
def test_bad_pattern_is_rejected(tmp_path, pattern, message):
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace('"LLL DDD"', f'"{pattern}"'), encoding="utf-8")
    with pytest.raises(LayoutError, match=message):
        load_layout_file(path)


def test_missing_and_duplicate_layouts(tmp_path):
    with pytest.raises(LayoutError, match="no"):
        load_layouts(tmp_path)
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(LayoutError, match="duplicate layout names t_one"):
        load_layouts(tmp_path)


def test_same_seed_same_image_other_seed_other_image(layouts):
    a, b, c = PlateSynth(layouts, 7), PlateSynth(layouts, 7), PlateSynth(layouts, 8)
    for i in range(4):
        pa, pb, pc = a.sample(i), b.sample(i), c.sample(i)
        assert pa.label == pb.label and pa.layout == pb.layout
        assert np.array_equal(pa.image, pb.image)
        assert pa.image.shape != pc.image.shape or not np.array_equal(pa.image, pc.image)
    assert a.sample(0).label != a.sample(1).label or not np.array_equal(a.sample(0).image, a.sample(1).image)


def test_label_follows_the_pattern(layouts):
    synth = PlateSynth(layouts, 0)
    for i in range(30):
        plate = synth.sample(i)
        layout = next(x for x in layouts if x.name == plate.layout)
        shapes = {"".join(c for c in p if c in "LDA") for p in layout.patterns}
        assert plate.label.isalnum() and plate.label == plate.label.upper()
        assert any(len(s) == len(plate.label) and all(
            k == "A" or (k == "L") == ch.isalpha() for k, ch in zip(s, plate.label, strict=True)) for s in shapes)
        assert plate.image.dtype == np.uint8 and plate.image.ndim == 3 and plate.image.shape[2] == 3


def test_confusable_characters_are_oversampled():
    rng = np.random.default_rng(0)
    texts = [generate_text(["LLLDDDD"], "ABCDEFGHIJKLMNOPQRSTUVWXYZ", rng, 0.5).label for _ in range(400)]
    letters = "".join(t[:3] for t in texts)
    digits = "".join(t[3:] for t in texts)
    share_letters = sum(c in CONFUSABLE_LETTERS for c in letters) / len(letters)
    share_digits = sum(c in CONFUSABLE_DIGITS for c in digits) / len(digits)
    assert share_letters > 0.55 and share_digits > 0.8  # uniform draws: 10/26 = 0.38 and 7/10 = 0.7


@pytest.mark.parametrize("text", ["ABC 123", "XYZ 789", "OIB 085"])
def test_rendered_text_is_the_label(tmp_path, layouts, text):
    """A clean render of a bare layout has one ink column-run per character, inside the character row."""
    path = tmp_path / "t.yaml"
    path.write_text(MINIMAL.replace("border_mm: 2", ""), encoding="utf-8")
    layout = load_layout_file(path)[0].model_copy(update={"border_mm": 0})
    img = render_plate(layout, PlateText((text,), text.replace(" ", "")), np.random.default_rng(0))
    ink = (img[..., :3].mean(axis=2) < 100) & (img[..., 3] > 0)
    cols = ink.any(axis=0).astype(int)
    runs = int((np.diff(np.concatenate([[0], cols, [0]])) == 1).sum())
    assert runs == len(text.replace(" ", ""))
    rows = np.where(ink.any(axis=1))[0] / img.shape[0]
    assert 0.2 < rows.min() < 0.3 and 0.7 < rows.max() < 0.8  # centre 75 mm of 150, height 70 mm
    other = render_plate(layout, PlateText(("ABC 124",), "ABC124"), np.random.default_rng(0))
    assert np.abs(other.astype(int) - img.astype(int)).max() > 0  # every text differs from ABC 124
