"""scripts/benchmark_synth_scenes.py: the plate is pasted where the old one was, at the size asked, or not at all."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from benchmark_synth_scenes import country_of, erase, paste

from alpr_training.synth import load_layouts

LAYOUTS = Path(__file__).resolve().parents[2] / "config" / "plate_layouts"


@pytest.mark.parametrize(("name", "country"), [
    ("eu_de", "DE"), ("eu_fr", "FR"), ("gb_rear", "GB"), ("gb_front", "GB"), ("br_mercosul", "BR"),
    ("us_ca", "US"),
])
def test_country_of_a_layout(name: str, country: str) -> None:
    layout = load_layouts(LAYOUTS)[0].model_copy(update={"name": name})
    assert country_of(layout) == country


def _photo() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    image = np.full((200, 300, 3), 90, np.uint8)
    image[90:110, 130:170] = 250  # the old plate: bright
    return image, (130.0, 90.0, 170.0, 110.0)


def test_paste_centres_the_plate_at_the_asked_width_and_erases_the_old_one() -> None:
    image, box = _photo()
    plate = np.zeros((22, 104, 4), np.uint8)
    plate[..., :3], plate[..., 3] = (0, 0, 255), 255  # opaque red (RGB)
    out, (x0, y0, x1, y1) = paste(image, plate, box, width_px=80)
    assert (x1 - x0, y1 - y0) == (80, 17)
    assert abs((x0 + x1) / 2 - 150) <= 1 and abs((y0 + y1) / 2 - 100) <= 1
    inside = out[int(y0) + 3:int(y1) - 3, int(x0) + 3:int(x1) - 3]
    assert inside[..., 0].mean() > 3 * inside[..., 2].mean()  # BGR: red, lit like the old plate
    assert out[100, 200].tolist() == [90, 90, 90]   # the rest of the photo is untouched
    assert erase(image, box)[100, 150].max() < 200  # the old bright plate is gone


def test_a_plate_that_would_leave_the_photo_is_not_pasted() -> None:
    image, box = _photo()
    assert paste(image, np.zeros((22, 104, 4), np.uint8), box, width_px=400) is None
