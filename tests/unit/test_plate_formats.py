"""Region layouts and confusable swaps as tie-breakers (table-driven)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alpr_edge.pipeline_config import PlateFormatSettings
from alpr_edge.reading.plate_formats import PlateFormats, compile_layout
from alpr_edge.reading.voting import vote
from alpr_edge.types import OcrResult

CONFIG = Path(__file__).resolve().parents[2] / "config" / "plate_formats.yaml"


@pytest.fixture(scope="module")
def formats() -> PlateFormats:
    data = yaml.safe_load(CONFIG.read_text())["plate_formats"]
    return PlateFormats(PlateFormatSettings(**{**data, "priority": []}))


def reads(*texts: str, conf: float = 0.9) -> list[OcrResult]:
    return [OcrResult(t, conf, (conf,) * len(t)) for t in texts]


@pytest.mark.parametrize(("layout", "text", "ok"), [
    ("LLLDDDD", "ABC1234", True), ("LLLDDDD", "AB01234", False), ("A{2,8}", "A1", True),
    ("L{1,3}L{1,2}D{1,4}", "MAB1234", True), ("DDLDDDDD", "34A36837", True), ("LL-DD", "AB-12", True),
])
def test_compile_layout(layout: str, text: str, ok: bool) -> None:
    assert bool(compile_layout(layout).fullmatch(text)) is ok


def test_config_covers_required_regions(formats: PlateFormats) -> None:
    regions = set(PlateFormatSettings(**yaml.safe_load(CONFIG.read_text())["plate_formats"]).regions)
    assert {"us-fl", "us-ca", "us-tx", "us-ny", "us", "de", "fr", "it", "es", "nl", "gb", "br"} <= regions


@pytest.mark.parametrize(("text", "region"), [
    ("7ABC123", "us-ca"), ("ABC1234", "us-tx"), ("AB123CD", "fr"), ("1234BCD", "es"), ("AB12CDE", "gb"),
    ("ABC1D23", "br"), ("34A36837", "vn"), ("!!", None),
])
def test_region_of(formats: PlateFormats, text: str, region: str | None) -> None:
    assert formats.region_of(text) == region


def unsure(text: str, unsure_at: tuple[int, ...], conf: float = 0.9, low: float = 0.4) -> OcrResult:
    chars = tuple(low if i in unsure_at else conf for i in range(len(text)))
    return OcrResult(text, conf, chars)


@pytest.mark.parametrize(("name", "ocr", "priority", "expected", "region"), [
    ("valid vote kept", reads("7ABC123", "7ABC123"), [], "7ABC123", "us-ca"),
    ("O/0 tie broken toward the layout", reads("ABC1204", "ABC12O4"), [], "ABC1204", "us-tx"),
    ("8 in a letter slot", reads("A8123CD"), [], "AB123CD", "fr"),
    ("B in a Mercosur digit slot", reads("ABC1DB3"), [], "ABC1D83", "br"),
    ("S/5 and I/1, both unsure", [unsure("7ABCI2S", (4, 6))], [], "7ABC125", "us-ca"),
    ("S/5 and I/1, both sure: no swap", [unsure("7ABCI2S", (), conf=0.99)], [], "7ABCI2S", "us"),
    ("Z/2 unsure, priority region", [unsure("ZABC123", (0,))], ["us-ca"], "2ABC123", "us-ca"),
    ("Z/2 sure stays (German layout)", [unsure("ZABC123", (), conf=0.99)], ["us-ca"], "ZABC123", "de"),
    ("generic US layout gives no bonus", reads("AB1O"), [], "AB1O", "us"),
])
def test_resolve(name: str, ocr: list[OcrResult], priority: list[str], expected: str, region: str) -> None:
    data = yaml.safe_load(CONFIG.read_text())["plate_formats"]
    formats = PlateFormats(PlateFormatSettings(**{**data, "priority": priority}))
    result = formats.resolve(vote(ocr))
    assert (result.text, result.region) == (expected, region), name
    assert result.candidates[0].text == expected


def test_strong_vote_is_not_overridden_by_a_far_layout() -> None:
    formats = PlateFormats(PlateFormatSettings(regions={"x": {"country": "XX", "patterns": ["LLLL"]}},
                                               max_substitutions=2, format_bonus=0.15))
    # needs three swaps to reach LLLL: beyond max_substitutions, so the vote stands
    assert formats.resolve(vote(reads("A000"))).text == "A000"


def test_priority_orders_regions() -> None:
    layout = {"country": "US", "patterns": ["LLLDDDD"]}
    settings = PlateFormatSettings(priority=["us-ny"], regions={"us-tx": layout, "us-ny": layout})
    assert PlateFormats(settings).region_of("ABC1234") == "us-ny"
